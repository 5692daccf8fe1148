"""Units. Times are integer UTC epoch nanoseconds; lengths are metres."""

from __future__ import annotations

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_HOUR = 3600 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S


def ns_to_s(t_ns: float) -> float:
    """Nanoseconds as (float) seconds."""
    return t_ns / NS_PER_S


def s_to_ns(seconds: float) -> int:
    """Seconds as integer nanoseconds (rounded)."""
    return round(seconds * NS_PER_S)
