"""The live search's background rates, kept up to date as hits and blocks arrive.

The live search needs, every pass, each device's hits and live time over the
trailing rate window (coincidence.reference.rate_table). Reading that hour
from the database every 15 s costs the hour's hits: at a million phones,
3 x 10^7 rows a pass. Instead the follower hands every new hit and exposure
block to LiveRates, which keeps per UTC minute one row per device (hits and
summed unit vectors), the window's running totals per device, and the blocks.
A pass then costs the minutes that changed and one sweep of the blocks held,
not an hour of hits read again.

The rate window of a stretch ending at `hi` is [hi - W, hi), W =
CROWDRAY_LIVE_RATE_WINDOW_S. Its whole minutes come from running totals
(MinuteSums); the two minutes cut by its ends are counted from the hits they
hold. A device counts at most max_hits_per_min hits of each minute, as the
batch search does (coincidence.floods); its position is the mean of all its
hits in the window (the batch search averages the counted ones: they differ
only for a phone that moves while flooding). Live time is each block's
overlap with the window, summed over the blocks held (live_seconds).

Memory. LiveRates holds the minutes from `floor` on: the rate window plus
KEEP_S before the newest hit. A stretch whose window starts before the floor
(hits uploaded later than KEEP_S, or a follower catching up a backlog) takes
the oldest window held: rates of a neighbouring hour, for a provisional
result that the batch search replaces. At a million phones the state is
about one row per hit and per block of the last 70 minutes, and a pass
reads the blocks once (a few hundred milliseconds at 2 x 10^7 blocks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.geo import to_unit
from coincidence.reference import rate_table
from vocab.units import NS_PER_MIN, NS_PER_S

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
KEEP_S = 600  # minutes kept beyond the rate window, for hits that arrive late
BLOCK_COLUMNS = ["device_id", "start_ns", "end_ns", "lat", "lon"]
HELD = {"device": np.int32, "start_ns": np.int64, "end_ns": np.int64, "lat": float, "lon": float}
Columns = dict[str, npt.NDArray[Any]]
MAX_PIECES = 32  # pieces of blocks held before they are joined into one


def minute_of(t_ns: Ints) -> Ints:
    """The UTC minute (epoch minutes) of each time."""
    out: Ints = np.floor_divide(t_ns, NS_PER_MIN)
    return out


def capped(values: Floats, cap: float) -> Floats:
    """Per-device sums (n, x, y, z) with n cut to the cap: what a device's minute counts."""
    out = values.copy()
    out[:, 0] = np.minimum(out[:, 0], cap)
    return out


@dataclass
class MinuteSums:
    """Per minute and device, hits and unit vectors (n, x, y, z); their totals over a window.

    Each minute's n is cut to the cap in the totals. n is a float64 that stays an
    exact integer below 2^53.
    """

    cap: float
    minutes: dict[int, tuple[Ints, Floats]] = field(default_factory=dict)
    total: Floats = field(default_factory=lambda: np.zeros((0, 4)))
    window: tuple[int, int] = (0, 0)  # [first, last) minute summed in total

    def _apply(self, devices: Ints, values: Floats, sign: float) -> None:
        if len(devices) and devices.max() >= len(self.total):
            grown = np.zeros((max(int(devices.max()) + 1, 2 * len(self.total)), 4))
            grown[: len(self.total)] = self.total
            self.total = grown
        self.total[devices] += sign * capped(values, self.cap)  # devices are unique per minute

    def add(self, minute: Ints, devices: Ints, values: Floats) -> None:
        """Add rows (minute, device, values) into their minutes, and into the window's totals."""
        order = np.argsort(minute, kind="stable")
        minute, devices, values = minute[order], devices[order], values[order]
        if not len(minute):
            return
        starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
        for a, b in zip(starts, [*starts[1:], len(minute)], strict=True):
            m = int(minute[a])
            old = self.minutes.get(m)
            d, v = devices[a:b], values[a:b]
            if old is not None:
                d, v = np.r_[old[0], d], np.vstack([old[1], v])
            keys, inverse = np.unique(d, return_inverse=True)
            summed = np.zeros((len(keys), 4))
            np.add.at(summed, inverse.ravel(), v)
            if self.window[0] <= m < self.window[1]:
                if old is not None:
                    self._apply(*old, -1.0)
                self._apply(keys, summed, 1.0)
            self.minutes[m] = (keys, summed)

    def move(self, first: int, last: int) -> Floats:
        """The totals over minutes [first, last), per device index (rows past the end: zero)."""
        was = set(range(*self.window))
        now = set(range(first, last))
        if len(was - now) > len(now):  # cheaper to start again
            self.total[:] = 0.0
            was = set()
        for m in was - now:
            if m in self.minutes:
                self._apply(*self.minutes[m], -1.0)
        for m in now - was:
            if m in self.minutes:
                self._apply(*self.minutes[m], 1.0)
        self.window = (first, last)
        return self.total

    def drop_before(self, minute: int) -> None:
        for m in [m for m in self.minutes if m < minute]:
            if self.window[0] <= m < self.window[1]:
                self._apply(*self.minutes[m], -1.0)
            del self.minutes[m]


class LiveRates:
    """Hits and exposure blocks of the recent past, as the live search's device table.

    window_s: the rate window. max_hits_per_min: the cap per device and minute.
    floor_ns: the earliest time held (None: everything since the start).
    """

    def __init__(self, window_s: float, max_hits_per_min: int, floor_ns: int | None) -> None:
        self.window_ns = round(window_s * NS_PER_S)
        self.cap = float(max_hits_per_min)
        self.floor_ns = floor_ns
        self.latest_ns: int | None = None
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.hits = MinuteSums(self.cap)
        # Per minute, the hits as they came (device, t, unit vector in float32: 0.4 m), for
        # the minutes a window's ends cut.
        self.raw: dict[int, list[tuple[npt.NDArray[np.int32], Ints, npt.NDArray[np.float32]]]] = {}
        self.blocks: list[Columns] = []  # HELD: the device by its index

    def _devices(self, ids: Iterable[object]) -> Ints:
        out = []
        for raw in ids:
            name = str(raw)
            k = self.index.get(name)
            if k is None:
                k = self.index[name] = len(self.names)
                self.names.append(name)
            out.append(k)
        return np.array(out, dtype=np.int64)

    def add_hits(
        self,
        device_id: Sequence[object],
        t_ns: npt.ArrayLike,
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
    ) -> None:
        t = np.asarray(t_ns, dtype=np.int64)
        keep = t >= (self.floor_ns if self.floor_ns is not None else np.iinfo(np.int64).min)
        if not keep.any():
            return
        t = t[keep]
        x, y, z = to_unit(np.asarray(lat, float)[keep], np.asarray(lon, float)[keep])
        devices = self._devices(d for d, k in zip(device_id, keep, strict=True) if k)
        values = np.column_stack([np.ones(len(t)), x, y, z])
        minute = minute_of(t)
        self.hits.add(minute, devices, values)
        for m in np.unique(minute):
            mine = minute == m
            piece = (devices[mine].astype(np.int32), t[mine], values[mine, 1:].astype(np.float32))
            self.raw.setdefault(int(m), []).append(piece)
        newest = int(t.max())
        self.latest_ns = newest if self.latest_ns is None else max(self.latest_ns, newest)

    def add_blocks(self, blocks: pd.DataFrame) -> None:
        """Blocks with BLOCK_COLUMNS: for the live time, and for the fits."""
        if self.floor_ns is not None:
            blocks = blocks[blocks["end_ns"] > self.floor_ns]
        if blocks.empty:
            return
        held = {c: blocks[c].to_numpy(t) for c, t in HELD.items() if c != "device"}
        self.blocks.append({"device": self._devices(blocks["device_id"]).astype(np.int32), **held})

    def _held_blocks(self) -> list[Columns]:
        """The blocks held, in pieces: joined only now and then (2 s a time at 2 x 10^7)."""
        if len(self.blocks) > MAX_PIECES or not self.blocks:
            parts = [{c: np.zeros(0, t) for c, t in HELD.items()}, *self.blocks]
            self.blocks = [{c: np.concatenate([p[c] for p in parts]) for c in HELD}]
        return self.blocks

    def window(self, hi_ns: int) -> tuple[int, int]:
        """The rate window [lo, hi) in ns for a stretch ending at hi_ns (module docstring)."""
        if self.floor_ns is not None:
            hi_ns = max(hi_ns, self.floor_ns + self.window_ns)
        return hi_ns - self.window_ns, hi_ns

    def _edge(self, minute: int, lo: int, hi: int) -> tuple[Ints, Floats]:
        """Per device, the capped hits and unit vectors of one minute's hits in [lo, hi)."""
        pieces = self.raw.get(minute, [])
        if not pieces:
            return np.zeros(0, np.int64), np.zeros((0, 4))
        devices = np.concatenate([p[0] for p in pieces])
        t = np.concatenate([p[1] for p in pieces])
        xyz = np.vstack([p[2] for p in pieces]).astype(np.float64)
        values = np.column_stack([np.ones(len(t)), xyz])
        inside = (t >= lo) & (t < hi)
        keys, inverse = np.unique(devices[inside], return_inverse=True)
        summed = np.zeros((len(keys), 4))
        np.add.at(summed, inverse.ravel(), values[inside])
        return keys, capped(summed, self.cap)

    def rates(self, hi_ns: int) -> pd.DataFrame:
        """The device table (rate_table) over the rate window for a stretch ending at hi_ns."""
        lo, hi = self.window(hi_ns)
        first, last = -(-lo // NS_PER_MIN), hi // NS_PER_MIN  # the whole minutes inside
        totals = self.hits.move(first, max(first, last)).copy()
        totals.resize((len(self.names), 4), refcheck=False)
        for m in {lo // NS_PER_MIN, hi // NS_PER_MIN} - set(range(first, last)):
            keys, summed = self._edge(m, lo, hi)
            totals[keys] += summed
        seen = np.flatnonzero(totals[:, 0] > 0)
        names = pd.Index([self.names[k] for k in seen], name="device_id")
        sums = pd.DataFrame(totals[seen], columns=["n", "x", "y", "z"], index=names)
        sums["n"] = sums["n"].round().astype(np.int64)
        live = np.zeros(len(self.names))
        for b in self._held_blocks():
            ns = np.maximum(np.minimum(b["end_ns"], hi) - np.maximum(b["start_ns"], lo), 0)
            live += np.bincount(b["device"], ns.astype(np.float64), minlength=len(self.names))
        timed = np.flatnonzero(live > 0)
        live_s = pd.Series(live[timed] / NS_PER_S, index=[self.names[k] for k in timed])
        return rate_table(sums, (hi - lo) / NS_PER_S, live_s)

    def flooding(self, lo_ns: int, hi_ns: int) -> list[str]:
        """The devices with more than the cap of hits in a minute of [lo, hi) (whole minutes)."""
        over: set[int] = set()
        for m in range(lo_ns // NS_PER_MIN, -(-hi_ns // NS_PER_MIN)):
            keys, summed = self.hits.minutes.get(m, (np.zeros(0, np.int64), np.zeros((0, 4))))
            over.update(keys[summed[:, 0] > self.cap].tolist())
        return [self.names[k] for k in sorted(over)]

    def blocks_between(self, lo_ns: int, hi_ns: int) -> pd.DataFrame | None:
        """The blocks overlapping [lo, hi), or None when the state does not reach back to lo."""
        if self.floor_ns is not None and lo_ns < self.floor_ns:
            return None
        parts = []
        for b in self._held_blocks():
            keep = np.flatnonzero((b["start_ns"] < hi_ns) & (b["end_ns"] > lo_ns))
            parts.append({c: v[keep] for c, v in b.items()})
        out = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in BLOCK_COLUMNS[1:]})
        devices = np.concatenate([p["device"] for p in parts])
        out.insert(0, "device_id", [self.names[k] for k in devices])
        return out

    def forget_before(self, floor_ns: int) -> None:
        """Drop what lies wholly before floor_ns (minutes, blocks) and hold from there on."""
        floor_ns = floor_ns // NS_PER_MIN * NS_PER_MIN
        if self.floor_ns is not None and floor_ns <= self.floor_ns:
            return
        self.floor_ns = floor_ns
        self.hits.drop_before(floor_ns // NS_PER_MIN)
        for m in [m for m in self.raw if m < floor_ns // NS_PER_MIN]:
            del self.raw[m]
        self.blocks = [{c: v[b["end_ns"] > floor_ns] for c, v in b.items()} for b in self.blocks]

    def keep_from(self) -> int | None:
        """Where the floor should be now: the rate window and KEEP_S before the newest hit."""
        if self.latest_ns is None:
            return None
        return self.latest_ns - self.window_ns - KEEP_S * NS_PER_S
