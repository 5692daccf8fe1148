"""The search's parameters, validated once."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vocab.limits import MAX_HITS_PER_MIN
from vocab.shower import SENSOR_AREA_M2, SENSOR_EFFICIENCY
from vocab.units import NS_PER_MS, s_to_ns


@dataclass(frozen=True)
class Params:
    """What makes a candidate (see coincidence/__init__.py for the definition).

    window_ms: the window W of a core and of a linked pair, milliseconds.
    radius_m: the largest disc of a core and distance of a linked pair, metres;
        also the radius of the neighbourhood whose hits are the time trials.
    min_devices: fewest distinct devices in a candidate.
    max_expected: a core is a candidate only when fewer than this many chance
        cores at least as significant are expected in its neighbourhood over the span.
    sensor_area_m2, efficiency: a phone's sensor, for the energy fit (docs/physics.md).
    since_ns / until_ns: analysed span [since, until) in UTC epoch ns; None = the data's.
    max_hits_per_min: of a device's hits in one UTC minute only the first this many
        (smallest hit_id) are searched, as on the server's counters (coincidence.floods);
        0 searches them all.
    bucket_s: time bucket of the Spark partitioning, seconds (does not change results).
    cell_m: spatial cell of the Spark partitioning, metres (does not change results).
    """

    window_ms: float = 50.0
    radius_m: float = 1000.0
    min_devices: int = 3
    max_expected: float = 1.0
    since_ns: int | None = None
    until_ns: int | None = None
    bucket_s: float = 600.0
    cell_m: float = 20_000.0
    sensor_area_m2: float = SENSOR_AREA_M2
    efficiency: float = SENSOR_EFFICIENCY
    max_hits_per_min: int = MAX_HITS_PER_MIN

    def __post_init__(self) -> None:
        if not 0 < self.window_ms <= 60_000:
            raise ValueError(f"window_ms={self.window_ms}: must be in (0, 60000]")
        if not 0 < self.radius_m <= 100_000:
            raise ValueError(f"radius_m={self.radius_m}: must be in (0, 100000]")
        if self.min_devices < 2:
            raise ValueError(f"min_devices={self.min_devices}: must be at least 2")
        if not self.max_expected > 0:
            raise ValueError(f"max_expected={self.max_expected}: must be positive")
        if not (self.sensor_area_m2 > 0 and 0 < self.efficiency <= 1):
            raise ValueError("sensor_area_m2 must be positive and efficiency in (0, 1]")
        if self.max_hits_per_min < 0:
            raise ValueError("max_hits_per_min must be 0 (no cap) or more")
        if self.bucket_s * 1000 < 2 * self.window_ms:
            raise ValueError("bucket_s must be at least twice the window")
        if self.cell_m < self.radius_m:
            raise ValueError("cell_m must be at least radius_m")
        since, until = self.since_ns, self.until_ns
        if since is not None and until is not None and until <= since:
            raise ValueError("until must be after since")

    @property
    def window_ns(self) -> int:
        return round(self.window_ms * NS_PER_MS)

    @property
    def radii_m(self) -> tuple[float, ...]:
        """The discs a core is scanned over: radius_m / 8, / 4, / 2 and radius_m itself."""
        return tuple(self.radius_m / 2**j for j in (3, 2, 1, 0))

    @property
    def bucket_ns(self) -> int:
        return s_to_ns(self.bucket_s)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
