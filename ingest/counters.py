"""The dashboard's counters, folded in by the follower from new hits and blocks.

The public pages never scan the hits table. They read one row per UTC minute
(hits, phones taking data, live time), one row per ~1 km cell with hits, and
each device's last data and last upload times. Only the follower writes these rows, one chunk
of new hits or blocks per transaction, together with its mark (ingest.tail),
so each hit and block is counted exactly once.

- A phone is active in a minute when one of its exposure blocks covers part
  of that minute or it sent a hit whose time falls in it (DeviceMinute keeps
  which device-minutes were counted already).
- Live time is credited to the minutes a block covers, in proportion.
- Per device and UTC day: hits and live time (the teams page).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection

from ingest.models import ActiveCell, Device, DeviceDay, DeviceMinute, Minute
from ingest.store import ROWS_PER_STATEMENT, column_uuid
from ingest.tail import Chunk, Consumer
from vocab.cells import cell_key, cells_of
from vocab.units import NS_PER_DAY, NS_PER_MIN, NS_PER_S

HIT_FIELDS = ("device_id", "t_ns", "lat", "lon", "received_at")
BLOCK_FIELDS = ("device_id", "start_ns", "end_ns", "received_at")


def _execute(prefix: str, rows: Sequence[tuple[Any, ...]], suffix: str = "") -> list[Any]:
    """`prefix VALUES (...), ... suffix` over rows, in pieces; the rows any RETURNING gave."""
    out: list[Any] = []
    if not rows:
        return out
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            piece = rows[start : start + ROWS_PER_STATEMENT]
            values = ", ".join(["(" + ", ".join(["%s"] * len(piece[0])) + ")"] * len(piece))
            cursor.execute(f"{prefix} VALUES {values} {suffix}", [v for r in piece for v in r])
            if "RETURNING" in suffix:
                out += cursor.fetchall()
    return out


def _add_minutes(hits: Counter[int], devices: Counter[int], live: dict[int, float]) -> None:
    table = Minute._meta.db_table
    minutes = sorted(set(hits) | set(devices) | set(live))
    rows = [(m, hits[m], devices[m], live.get(m, 0.0)) for m in minutes]
    _execute(
        f"INSERT INTO {table} (minute, hits, devices, live_s)",
        rows,
        f"ON CONFLICT (minute) DO UPDATE SET hits = {table}.hits + excluded.hits, "
        f"devices = {table}.devices + excluded.devices, "
        f"live_s = {table}.live_s + excluded.live_s",
    )


def _add_device_days(hits: Counter[tuple[int, Any]], live: dict[tuple[int, Any], float]) -> None:
    """Add hits and live seconds to each (day, device)."""
    table = DeviceDay._meta.db_table
    keys = sorted(set(hits) | set(live), key=lambda k: (k[0], str(k[1])))
    rows = [(day, column_uuid(d), hits[(day, d)], live.get((day, d), 0.0)) for day, d in keys]
    _execute(
        f"INSERT INTO {table} (day, device_id, hits, live_s)",
        rows,
        f"ON CONFLICT (day, device_id) DO UPDATE SET hits = {table}.hits + excluded.hits, "
        f"live_s = {table}.live_s + excluded.live_s",
    )


def _new_device_minutes(pairs: Iterable[tuple[int, Any]]) -> Counter[int]:
    """Record (minute, device) pairs; count per minute those not recorded before."""
    distinct = set(pairs)
    as_db = {d: column_uuid(d) for _, d in distinct}
    rows = sorted((m, as_db[d]) for m, d in distinct)
    new = _execute(
        f"INSERT INTO {DeviceMinute._meta.db_table} (minute, device_id)",
        rows,
        "ON CONFLICT (minute, device_id) DO NOTHING RETURNING minute",
    )
    return Counter(row[0] for row in new)


def _touch_devices(last_ns: dict[Any, int], uploaded_ns: dict[Any, int]) -> None:
    """Move each device's last data time and last upload time forward (never back)."""
    table = Device._meta.db_table
    as_db = {d: column_uuid(d) for d in last_ns}
    with connection.cursor() as cursor:
        for device, t in sorted(last_ns.items(), key=lambda item: str(item[0])):
            up = uploaded_ns[device]
            cursor.execute(
                f"UPDATE {table} SET "
                "last_seen_ns = CASE WHEN last_seen_ns > %s THEN last_seen_ns ELSE %s END, "
                "last_upload_ns = CASE WHEN last_upload_ns > %s THEN last_upload_ns ELSE %s END "
                "WHERE id = %s",
                [t, t, up, up, as_db[device]],
            )


def _uploaded(devices: Sequence[Any], received: Sequence[datetime]) -> dict[Any, int]:
    """Each device's latest upload, epoch ns."""
    return _latest(devices, [round(r.timestamp() * NS_PER_S) for r in received])


def _add_cells(t_ns: Sequence[int], lat: Sequence[float], lon: Sequence[float]) -> None:
    keys, centre_lat, centre_lon = cells_of(lat, lon)
    cells, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    hits = np.bincount(inverse)
    last = np.full(len(cells), np.iinfo(np.int64).min)
    np.maximum.at(last, inverse, np.asarray(t_ns, dtype=np.int64))
    rows = [
        (cell_key(k), float(centre_lat[i]), float(centre_lon[i]), int(t), int(n))
        for k, i, t, n in zip(cells, first, last, hits, strict=True)
    ]
    table = ActiveCell._meta.db_table
    _execute(
        f"INSERT INTO {table} (cell, lat, lon, last_seen_ns, hits)",
        rows,
        f"ON CONFLICT (cell) DO UPDATE SET hits = {table}.hits + excluded.hits, "
        f"last_seen_ns = CASE WHEN excluded.last_seen_ns > {table}.last_seen_ns "
        f"THEN excluded.last_seen_ns ELSE {table}.last_seen_ns END",
    )


def _latest(devices: Sequence[Any], times: Sequence[int]) -> dict[Any, int]:
    """Each device's latest time."""
    index = {d: i for i, d in enumerate(dict.fromkeys(devices))}
    last = np.full(len(index), np.iinfo(np.int64).min)
    np.maximum.at(last, np.fromiter((index[d] for d in devices), np.int64, len(devices)),
                  np.asarray(times, dtype=np.int64))  # fmt: skip
    return {d: int(last[i]) for d, i in index.items()}


def fold_hits(columns: dict[str, list[Any]]) -> None:
    """Count new hits (columns HIT_FIELDS); call inside the follower's transaction."""
    devices, t_ns = columns["device_id"], columns["t_ns"]
    if not t_ns:
        return
    minutes = (np.asarray(t_ns, dtype=np.int64) // NS_PER_MIN).tolist()
    active = _new_device_minutes(zip(minutes, devices, strict=True))
    _add_minutes(Counter(minutes), active, {})
    _add_cells(t_ns, columns["lat"], columns["lon"])
    days = (np.asarray(t_ns, dtype=np.int64) // NS_PER_DAY).tolist()
    _add_device_days(Counter(zip(days, devices, strict=True)), {})
    _touch_devices(_latest(devices, t_ns), _uploaded(devices, columns["received_at"]))


def minutes_covered(start_ns: int, end_ns: int) -> dict[int, float]:
    """Seconds of [start_ns, end_ns) within each epoch minute it touches."""
    out: dict[int, float] = {}
    for minute in range(start_ns // NS_PER_MIN, (end_ns - 1) // NS_PER_MIN + 1):
        lo = max(start_ns, minute * NS_PER_MIN)
        hi = min(end_ns, (minute + 1) * NS_PER_MIN)
        out[minute] = (hi - lo) / NS_PER_S
    return out


def fold_blocks(columns: dict[str, list[Any]]) -> None:
    """Count new exposure blocks (columns BLOCK_FIELDS); call inside the follower's transaction."""
    devices = columns["device_id"]
    if not devices:
        return
    live: dict[int, float] = {}
    daily: dict[tuple[int, Any], float] = {}
    pairs: list[tuple[int, Any]] = []
    for device, a, b in zip(devices, columns["start_ns"], columns["end_ns"], strict=True):
        for minute, seconds in minutes_covered(a, b).items():
            live[minute] = live.get(minute, 0.0) + seconds
            key = (minute * NS_PER_MIN // NS_PER_DAY, device)
            daily[key] = daily.get(key, 0.0) + seconds
            pairs.append((minute, device))
    _add_minutes(Counter(), _new_device_minutes(pairs), live)
    _add_device_days(Counter(), daily)
    _touch_devices(_latest(devices, columns["end_ns"]), _uploaded(devices, columns["received_at"]))


class Counters(Consumer):
    """The follower's consumer that keeps the dashboard's counters."""

    name = "counters"
    streams = {"hits": HIT_FIELDS, "exposures": BLOCK_FIELDS}

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s

    def fold(self, chunk: Chunk) -> None:
        (fold_hits if chunk.stream == "hits" else fold_blocks)(chunk.columns)
