"""User-facing times: ISO 8601 or integer UTC epoch nanoseconds, parsed in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from vocab.units import NS_PER_S


class TimeFormatError(ValueError):
    """A text that is neither an ISO 8601 time nor an integer of epoch nanoseconds."""


# Every time is int64 epoch ns in the contracts; 9e18 ns (the year 2255) keeps a bound
# that a pattern can state (api.openapi) well inside int64.
MAX_ABS_NS = 9 * 10**18


def parse_time_ns(text: str) -> int:
    """An ISO 8601 time (naive means UTC, 'Z' allowed) or integer UTC epoch ns -> epoch ns."""
    value = text.strip()
    if value.lstrip("-").isdecimal() and value.isascii():
        t_ns = int(value)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise TimeFormatError(f"{text!r} is not an ISO 8601 time or UTC epoch ns") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        t_ns = int(moment.timestamp()) * NS_PER_S + moment.microsecond * 1000
    if abs(t_ns) >= MAX_ABS_NS:
        raise TimeFormatError(f"{text!r} is outside the years 1684 to 2255")
    return t_ns


def iso_utc(t_ns: int) -> str:
    """Epoch ns as ISO 8601 UTC with milliseconds, e.g. 2026-11-22T23:37:50.712Z."""
    moment = datetime.fromtimestamp(t_ns // NS_PER_S, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{(t_ns % NS_PER_S) // 1_000_000:03d}Z"
