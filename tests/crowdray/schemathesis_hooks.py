"""The rules between fields that the schema's descriptions state and OpenAPI 3.0 cannot.

Loaded by the schemathesis CLI (SCHEMATHESIS_HOOKS) in test_api_contract.py. Each
hook makes a generated request follow one documented rule, as a client that read the
description would; a value that breaks the schema itself is left as it is, so the
negative cases stay negative:
- a hit's `t_ns` and a block's `start_ns`/`end_ns` lie in the window that moves with
  the server's clock (the last 30 days), and a block ends after it starts;
- `until` is after `since`, a bbox's `min_lat` is at most its `max_lat`;
- `near` and `within_km` come together;
- a CRAYFIS upload (/submit) is a serialized DataChunk whose Hash-code is the hash
  of SALT and the body (a schema says "binary", not "protobuf").
"""

from __future__ import annotations

import time
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from vocab.crayfis import hash_code
from vocab.crayfis_pb2 import DataChunk, ExposureBlock
from vocab.limits import INT64_MAX
from vocab.times import TimeFormatError, parse_time_ns

NS_PER_MIN = 60 * 10**9
SALT = "contract-test-salt"  # the server's CROWDRAY_CRAYFIS_SALT in test_api_contract.py


def _valid_ns(value: Any) -> bool:
    """An int64 the schema accepts: a value out of it stays, to keep a negative case one."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    items = body.get(key) if isinstance(body, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


def _times_in_window(path: str, body: Any) -> None:
    now = time.time_ns()
    if path == "/api/v1/hits":
        for item in _items(body, "hits"):
            if _valid_ns(item.get("t_ns")):
                item["t_ns"] = now - NS_PER_MIN
    if path == "/api/v1/exposures":
        for item in _items(body, "blocks"):
            if _valid_ns(item.get("start_ns")) and _valid_ns(item.get("end_ns")):
                item["start_ns"], item["end_ns"] = now - 3 * NS_PER_MIN, now - 2 * NS_PER_MIN


def _time(query: dict[str, Any], name: str) -> int | None:
    try:
        return parse_time_ns(str(query[name])) if query.get(name) else None
    except TimeFormatError:
        return None


def _lats(bbox: Any) -> tuple[list[str], float, float] | None:
    parts = str(bbox).split(",")
    try:
        return parts, float(parts[1]), float(parts[3])
    except (IndexError, ValueError):
        return None


def _query_rules(query: dict[str, Any]) -> None:
    since, until = _time(query, "since"), _time(query, "until")
    if since is not None and until is not None and until <= since:
        query["since"], query["until"] = str(min(since, until) - 1), str(max(since, until))
    box = _lats(query["bbox"]) if query.get("bbox") else None
    if box is not None and box[1] > box[2]:
        parts = box[0]
        parts[1], parts[3] = parts[3], parts[1]
        query["bbox"] = ",".join(parts)
    if query.get("within_km") and not query.get("near"):
        query["near"] = "46.2,6.1"
    if query.get("near") and not query.get("within_km"):
        query["within_km"] = 10


def a_chunk() -> bytes:
    """A DataChunk of one DATA block with one event, a minute ago."""
    now_ms = time.time_ns() // 10**6
    chunk = DataChunk()
    block = chunk.exposure_blocks.add(
        daq_state=ExposureBlock.DATA, start_time=now_ms - 120_000, end_time=now_ms - 30_000
    )
    block.gps_lat, block.gps_lon = 46.2, 6.1
    block.events.add(timestamp=now_ms - 60_000).pixels.add(x=1, y=2, val=90)
    return chunk.SerializeToString()


def _crayfis(case: Any) -> None:
    negative = case.meta.is_negative_at if case.meta is not None else (lambda _: False)
    if not negative(ParameterLocation.BODY):
        case.body = a_chunk()
    headers = case.headers if isinstance(case.headers, dict) else {}
    if "Hash-code" in headers and not negative(ParameterLocation.HEADER):
        body = case.body if isinstance(case.body, bytes) else b""
        headers["Hash-code"] = hash_code(SALT, body)


def _follow_rules(case: Any) -> Any:
    if case.operation.path == "/submit":
        _crayfis(case)
    _times_in_window(case.operation.path, case.body)
    if isinstance(case.query, dict):
        _query_rules(case.query)
    return case


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:  # the coverage, fuzzing and stateful phases
    return _follow_rules(case)


@schemathesis.hook
def before_add_examples(ctx: Any, examples: list[Any]) -> None:  # the examples phase
    for case in examples:
        _follow_rules(case)


UPLOADS = {"/api/v1/hits", "/api/v1/exposures"}


@schemathesis.check
def upload_rejects_invalid_items(ctx: Any, response: Any, case: Any) -> bool | None:
    """An upload answers per item: a 2xx to a schema-violating batch lists what it refused.

    schemathesis's negative_data_rejection, which wants the whole batch refused, is off
    for the uploads (schemathesis.toml); this holds them to `rejected` instead.
    """
    if case.operation.path not in UPLOADS or case.meta is None or response.status_code >= 300:
        return None
    # Only a bad body: an upload reads its body as JSON whatever Content-Type says
    # (docs/api.md), as phones' HTTP libraries often send a form type by default.
    if not case.meta.is_negative_at(ParameterLocation.BODY):
        return None
    rejected = response.json().get("rejected")
    if not rejected:
        raise AssertionError("a schema-violating batch was stored with no item rejected")
    return True
