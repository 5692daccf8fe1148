"""User-facing times: ISO 8601 or integer UTC epoch nanoseconds, parsed in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from vocab.units import NS_PER_S


class TimeFormatError(ValueError):
    """A text that is neither an ISO 8601 time nor an integer of epoch nanoseconds."""


def parse_time_ns(text: str) -> int:
    """An ISO 8601 time (naive means UTC, 'Z' allowed) or integer UTC epoch ns -> epoch ns."""
    value = text.strip()
    if value.lstrip("-").isdecimal() and value.isascii():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TimeFormatError(f"{text!r} is not an ISO 8601 time or UTC epoch ns") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * NS_PER_S + moment.microsecond * 1000


def iso_utc(t_ns: int) -> str:
    """Epoch ns as ISO 8601 UTC with milliseconds, e.g. 2026-11-22T23:37:50.712Z."""
    moment = datetime.fromtimestamp(t_ns // NS_PER_S, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{(t_ns % NS_PER_S) // 1_000_000:03d}Z"
