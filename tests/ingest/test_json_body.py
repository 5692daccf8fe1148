"""Upload bodies are read exactly as the standard library's json reads them, values and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.json_body import _reject_constant, loads


def typed(value: Any) -> Any:
    """The value with every scalar's type beside it: 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, repr(value))


def reference(raw: bytes) -> Any:
    """What the upload read before: the standard library, refusing NaN and Infinity."""
    return json.loads(raw, parse_constant=_reject_constant)


def usual_batch() -> bytes:
    hits = [
        {
            "seq": i,
            "t_ns": 1_790_000_000_000_000_000 + i,
            "lat": 46.2 + i * 1e-5,
            "lon": -179.99999,
            "alt_m": 410.0,
            "value": 200,
        }
        for i in range(100)
    ]
    return json.dumps({"hits": hits}).encode()


def hits(*values: str) -> bytes:
    return ('{"hits": [' + ", ".join(f'{{"seq": 1, "t_ns": {v}}}' for v in values) + "]}").encode()


READ_ALIKE = {
    "a usual batch": usual_batch(),
    "64-bit integers at their edges": hits(str(2**63 - 1), str(-(2**63)), str(2**64 - 1)),
    "integers just beyond 64 bits": hits(str(2**64), str(-(2**63) - 1)),
    "a huge integer": hits(str(10**30), str(-(10**30))),
    "floats at their edges": hits("1.7976931348623157e308", "5e-324", "1e-400", "-0.0", "0.1"),
    "floats beyond the largest": hits("1e400", "-1e400"),
    "a float with 20 integer digits": hits("12345678901234567890.5"),
    "a lone surrogate": b'{"hits": [{"note": "\\ud800"}]}',
    "a 20-digit run in a string": b'{"hits": [{"note": "12345678901234567890"}]}',
    "a key twice": b'{"hits": [{"seq": 1, "seq": 2}]}',
    "a UTF-8 byte order mark": b'\xef\xbb\xbf{"hits": []}',
    "UTF-16": '{"hits": [{"seq": 1}]}'.encode("utf-16"),
}

REFUSED_ALIKE = {
    "NaN": hits("NaN"),
    "Infinity": hits("-Infinity"),
    "not JSON": b'{"hits": [1,]}',
    "empty": b"",
    "invalid UTF-8": b'{"hits": ["\xff"]}',
    "nested too deeply": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("raw", READ_ALIKE.values(), ids=READ_ALIKE.keys())
def test_a_body_reads_as_the_standard_library_reads_it(raw):
    assert typed(loads(raw)) == typed(reference(raw))


@pytest.mark.parametrize("raw", REFUSED_ALIKE.values(), ids=REFUSED_ALIKE.keys())
def test_a_body_the_standard_library_refuses_is_refused_with_its_error(raw):
    with pytest.raises((ValueError, RecursionError)) as ours:
        loads(raw)
    with pytest.raises((ValueError, RecursionError)) as theirs:
        reference(raw)
    assert type(ours.value) is type(theirs.value)
    if not isinstance(theirs.value, RecursionError):
        assert str(ours.value) == str(theirs.value)
