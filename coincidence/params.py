"""The search's parameters, validated once."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vocab.units import NS_PER_MS, s_to_ns


@dataclass(frozen=True)
class Params:
    """What makes a candidate (see coincidence/__init__.py for the definition).

    window_ms: largest time difference of a linked pair, milliseconds.
    radius_m: largest great-circle distance of a linked pair, metres.
    min_devices: fewest distinct devices in a candidate.
    since_ns / until_ns: analysed span [since, until) in UTC epoch ns; None = the data's.
    bucket_s: time bucket of the Spark partitioning, seconds (does not change results).
    cell_m: spatial cell of the Spark partitioning, metres (does not change results).
    """

    window_ms: float = 50.0
    radius_m: float = 1000.0
    min_devices: int = 3
    since_ns: int | None = None
    until_ns: int | None = None
    bucket_s: float = 600.0
    cell_m: float = 20_000.0

    def __post_init__(self) -> None:
        if not 0 < self.window_ms <= 60_000:
            raise ValueError(f"window_ms={self.window_ms}: must be in (0, 60000]")
        if not 0 < self.radius_m <= 100_000:
            raise ValueError(f"radius_m={self.radius_m}: must be in (0, 100000]")
        if self.min_devices < 2:
            raise ValueError(f"min_devices={self.min_devices}: must be at least 2")
        if self.bucket_s * 1000 < 2 * self.window_ms:
            raise ValueError("bucket_s must be at least twice the window")
        if self.cell_m < self.radius_m:
            raise ValueError("cell_m must be at least radius_m")
        bounded = self.since_ns is not None and self.until_ns is not None
        if bounded and self.until_ns <= self.since_ns:  # type: ignore[operator]
            raise ValueError("until must be after since")

    @property
    def window_ns(self) -> int:
        return round(self.window_ms * NS_PER_MS)

    @property
    def bucket_ns(self) -> int:
        return s_to_ns(self.bucket_s)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
