"""OpenAPI schemas of the query parameters that api.query parses, stated once.

Each schema says what the parser accepts, so that a client generated from
/api/schema/ never sends a value the server refuses (schemathesis holds both to it:
tests/crowdray/test_api_contract.py).
"""

from __future__ import annotations

from typing import Any

# A calendar date 1900-2099 as a regex: days 29-31 only in the months that have them,
# 29 February only in leap years (every fourth year in this span but 1900).
_DATE = (
    r"(?:(?:19|20)[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:[02468][048]|[13579][26]))-02-29)"
)
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
# Epoch ns below 9e18 in magnitude (vocab.times.MAX_ABS_NS): 18 digits, or 19 from 1 to 8.
_EPOCH_NS = r"-?(?:[0-9]{1,18}|[1-8][0-9]{18})"

TIME: dict[str, Any] = {
    "type": "string",
    "pattern": rf"^(?:{_EPOCH_NS}|{_DATE}(?:T{_CLOCK}{_ZONE})?)$",
    "example": "2026-12-01T00:00:00Z",
}
TIME_HELP = (
    "an ISO 8601 time (UTC when it has no offset; a date alone is its midnight; "
    "microseconds kept) or integer UTC epoch nanoseconds, e.g. 2026-12-01T00:00:00Z "
    "or 1796083200000000000. Times from 1684 to 2255 are accepted; "
    "the pattern spells the years 1900 to 2099."
)

# Degrees as api.query.parse_bbox and the shower search read them: -90..90, -180..180.
_LAT = r"-?(?:[0-8]?[0-9](?:\.[0-9]{1,12})?|90(?:\.0{1,12})?)"
_LON = r"-?(?:(?:1[0-7][0-9]|[0-9]?[0-9])(?:\.[0-9]{1,12})?|180(?:\.0{1,12})?)"
BBOX: dict[str, Any] = {
    "type": "string",
    "pattern": rf"^{_LON},{_LAT},{_LON},{_LAT}$",
    "example": "5.9,45.8,10.5,47.8",
}
BBOX_HELP = (
    "min_lon,min_lat,max_lon,max_lat in degrees, min_lat <= max_lat; "
    "min_lon > max_lon crosses the antimeridian"
)
NEAR: dict[str, Any] = {"type": "string", "pattern": rf"^{_LAT},{_LON}$", "example": "46.2,6.1"}


TOKEN: dict[str, Any] = {"type": "string", "minLength": 1}  # a cursor, an id: never empty


def positive_number() -> dict[str, Any]:
    """A number above zero, as OpenAPI 3.0 (drf-spectacular's) states it."""
    return {"type": "number", "minimum": 0, "exclusiveMinimum": True}
