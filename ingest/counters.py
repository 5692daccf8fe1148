"""The dashboard's counters, folded in by the follower from new hits and blocks.

The public pages never scan the hits table. They read one row per UTC minute
(hits, phones taking data, live time), one row per ~1 km cell with hits, and
each device's last data and last upload times. Only the follower writes these rows, one chunk
of new hits or blocks per transaction, together with its mark (ingest.tail),
so each hit and block is counted exactly once.

- A phone is active in a minute when one of its exposure blocks covers part
  of that minute or it sent a hit whose time falls in it (DeviceMinute keeps
  what each device-minute counted already).
- Live time is credited to the minutes a block covers, in proportion, at most
  60 s per device and minute: overlapping blocks count once.
- A device counts at most CROWDRAY_MAX_HITS_PER_MIN hits per minute (the
  rest are stored, not counted): one phone cannot bend the public numbers.
- A device lights at most CROWDRAY_MAX_CELLS_PER_HOUR cells per UTC hour on
  the map (DeviceHourCell keeps which); its other hits count everywhere else.
- Per device and UTC day: hits and live time (the teams page).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from ingest.models import ActiveCell, Device, DeviceDay, DeviceHourCell, DeviceMinute, Minute
from ingest.store import ROWS_PER_STATEMENT, column_uuid
from ingest.tail import Chunk, Consumer
from vocab.cells import Ints, cell_key, cells_of
from vocab.units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MIN, NS_PER_S

# received_ns: received_at as epoch ns, computed by the database (ingest.tail.EpochNs)
HIT_FIELDS = ("device_id", "t_ns", "lat", "lon", "received_ns")
BLOCK_FIELDS = ("device_id", "start_ns", "end_ns", "received_ns")


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


@dataclass
class Counted:
    """What one (minute, device) added to the counters after the caps."""

    new: bool  # the device's first activity in that minute
    hits: int
    live_s: float


Pair = tuple[int, Any]  # (epoch minute, device id)


def _rows_of_devices(sql: str, lo: int, hi: int, devices: list[Any]) -> Iterator[list[Any]]:
    """The rows `sql` selects for these devices, in pieces; device ids as given.

    sql ends "WHERE <time> BETWEEN %s AND %s AND device_id IN ({})" and selects
    the device id second.
    """
    with connection.cursor() as cursor:
        for start in range(0, len(devices), ROWS_PER_STATEMENT):
            piece = {column_uuid(d): d for d in devices[start : start + ROWS_PER_STATEMENT]}
            cursor.execute(sql.format(", ".join(["%s"] * len(piece))), [lo, hi, *piece])
            for row in cursor.fetchall():
                yield [row[0], piece.get(row[1], row[1]), *row[2:]]


def _read_device_minutes(keys: Sequence[Pair]) -> dict[Pair, tuple[int, float]]:
    """The (hits, live_s) counted so far for these (minute, device) pairs."""
    minutes = [m for m, _ in keys]
    sql = (f"SELECT minute, device_id, hits, live_s FROM {DeviceMinute._meta.db_table} "
           "WHERE minute BETWEEN %s AND %s AND device_id IN ({})")  # fmt: skip
    devices = sorted({d for _, d in keys}, key=str)
    rows = _rows_of_devices(sql, min(minutes), max(minutes), devices)
    return {(m, d): (hits, live_s) for m, d, hits, live_s in rows}


def _count_device_minutes(add: dict[Pair, tuple[int, float]]) -> dict[Pair, Counted]:
    """Add (hits, live seconds) to each (minute, device), within the caps; what was counted.

    Only the follower writes these rows, one process at a time (ingest.tail),
    so reading them first and writing the capped totals is safe.
    """
    if not add:
        return {}
    keys = sorted(add, key=lambda k: (k[0], str(k[1])))
    old = _read_device_minutes(keys)
    cap = settings.CROWDRAY_MAX_HITS_PER_MIN
    out: dict[Pair, Counted] = {}
    rows = []
    for key in keys:
        hits, live = old.get(key, (0, 0.0))
        new_hits = min(cap, hits + add[key][0])
        new_live = min(60.0, live + add[key][1])
        out[key] = Counted(key not in old, new_hits - hits, new_live - live)
        rows.append((key[0], column_uuid(key[1]), new_hits, new_live))
    table = DeviceMinute._meta.db_table
    _execute(
        f"INSERT INTO {table} (minute, device_id, hits, live_s)",
        rows,
        "ON CONFLICT (minute, device_id) DO UPDATE SET hits = excluded.hits, "
        "live_s = excluded.live_s",
    )
    return out


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


def _add_cells(devices: Sequence[Any], t_ns: Sequence[int], lat: Sequence[float],
               lon: Sequence[float]) -> None:  # fmt: skip
    """Light each hit's cell on the map, within each device's cells-per-hour cap."""
    keys, centre_lat, centre_lon = cells_of(lat, lon)
    mapped = _within_cell_cap(devices, t_ns, keys)
    if not mapped.any():
        return
    keys, centre_lat, centre_lon = keys[mapped], centre_lat[mapped], centre_lon[mapped]
    cells, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    hits = np.bincount(inverse)
    last = np.full(len(cells), np.iinfo(np.int64).min)
    np.maximum.at(last, inverse, np.asarray(t_ns, dtype=np.int64)[mapped])
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


def _within_cell_cap(devices: Sequence[Any], t_ns: Sequence[int], keys: Ints) -> Any:
    """Which hits may light their cell (a bool array).

    Each device lights at most CROWDRAY_MAX_CELLS_PER_HOUR distinct cells per
    UTC hour, the first it reached, so a phone that reports a new place with
    every hit cannot push volunteers' cells off the map. Its hits still count.
    """
    cap = settings.CROWDRAY_MAX_CELLS_PER_HOUR
    triples = list(zip((np.asarray(t_ns, dtype=np.int64) // NS_PER_HOUR).tolist(), devices,
                       keys.tolist(), strict=True))  # fmt: skip
    hours = sorted({h for h, _, _ in triples})
    lit = _read_hour_cells(hours, sorted(set(devices), key=str))
    new_rows = []
    for hour, device, cell in dict.fromkeys(triples):  # distinct, first reached first
        cells = lit.setdefault((hour, device), set())
        if cell not in cells and len(cells) < cap:
            cells.add(cell)
            new_rows.append((hour, column_uuid(device), cell))
    _execute(f"INSERT INTO {DeviceHourCell._meta.db_table} (hour, device_id, cell)", new_rows,
             "ON CONFLICT (hour, device_id, cell) DO NOTHING")  # fmt: skip
    return np.fromiter((c in lit[(h, d)] for h, d, c in triples), dtype=bool, count=len(triples))


def _read_hour_cells(hours: list[int], devices: list[Any]) -> dict[tuple[int, Any], set[int]]:
    """The cells each (hour, device) has lit so far."""
    sql = (f"SELECT hour, device_id, cell FROM {DeviceHourCell._meta.db_table} "
           "WHERE hour BETWEEN %s AND %s AND device_id IN ({})")  # fmt: skip
    found: dict[tuple[int, Any], set[int]] = {}
    for hour, device, cell in _rows_of_devices(sql, hours[0], hours[-1], devices):
        found.setdefault((hour, device), set()).add(cell)
    return found


def _latest(devices: Sequence[Any], times: Sequence[int]) -> dict[Any, int]:
    """Each device's latest time."""
    index = {d: i for i, d in enumerate(dict.fromkeys(devices))}
    last = np.full(len(index), np.iinfo(np.int64).min)
    np.maximum.at(last, np.fromiter((index[d] for d in devices), np.int64, len(devices)),
                  np.asarray(times, dtype=np.int64))  # fmt: skip
    return {d: int(last[i]) for d, i in index.items()}


def fold_hits(columns: dict[str, list[Any]]) -> None:
    """Count new hits (columns HIT_FIELDS); call inside the follower's transaction.

    A device's hits beyond CROWDRAY_MAX_HITS_PER_MIN in one minute are stored
    but not counted: not in the per-minute hits, the map's cells or the teams.
    """
    devices, t_ns = columns["device_id"], columns["t_ns"]
    if not t_ns:
        return
    minutes = (np.asarray(t_ns, dtype=np.int64) // NS_PER_MIN).tolist()
    pairs = list(zip(minutes, devices, strict=True))
    counted = _count_device_minutes({k: (n, 0.0) for k, n in Counter(pairs).items()})
    room = {k: c.hits for k, c in counted.items()}
    keep = []
    for i, key in enumerate(pairs):  # the first hits of a pair, in id order, fit the cap
        if room[key] > 0:
            room[key] -= 1
            keep.append(i)
    kept_t = [t_ns[i] for i in keep]
    active = Counter(m for (m, _), c in counted.items() if c.new)
    _add_minutes(Counter(minutes[i] for i in keep), active, {})
    if keep:
        _add_cells([devices[i] for i in keep], kept_t, [columns["lat"][i] for i in keep],
                   [columns["lon"][i] for i in keep])  # fmt: skip
    days = Counter((t // NS_PER_DAY, devices[i]) for i, t in zip(keep, kept_t, strict=True))
    _add_device_days(days, {})
    _touch_devices(_latest(devices, t_ns), _latest(devices, columns["received_ns"]))


def minutes_covered(start_ns: int, end_ns: int) -> dict[int, float]:
    """Seconds of [start_ns, end_ns) within each epoch minute it touches."""
    out: dict[int, float] = {}
    for minute in range(start_ns // NS_PER_MIN, (end_ns - 1) // NS_PER_MIN + 1):
        lo = max(start_ns, minute * NS_PER_MIN)
        hi = min(end_ns, (minute + 1) * NS_PER_MIN)
        out[minute] = (hi - lo) / NS_PER_S
    return out


def fold_blocks(columns: dict[str, list[Any]]) -> None:
    """Count new exposure blocks (columns BLOCK_FIELDS); call inside the follower's transaction.

    A device is credited at most 60 s of live time per minute, so overlapping
    blocks count their union, not their sum.
    """
    devices = columns["device_id"]
    if not devices:
        return
    seconds: dict[tuple[int, Any], float] = {}
    for device, a, b in zip(devices, columns["start_ns"], columns["end_ns"], strict=True):
        for minute, covered in minutes_covered(a, b).items():
            seconds[(minute, device)] = seconds.get((minute, device), 0.0) + covered
    counted = _count_device_minutes({k: (0, s) for k, s in seconds.items()})
    live: dict[int, float] = {}
    daily: dict[tuple[int, Any], float] = {}
    for (minute, device), c in counted.items():
        live[minute] = live.get(minute, 0.0) + c.live_s
        day = (minute * NS_PER_MIN // NS_PER_DAY, device)
        daily[day] = daily.get(day, 0.0) + c.live_s
    active = Counter(m for (m, _), c in counted.items() if c.new)
    _add_minutes(Counter(), active, live)
    _add_device_days(Counter(), daily)
    _touch_devices(_latest(devices, columns["end_ns"]), _latest(devices, columns["received_ns"]))


class Counters(Consumer):
    """The follower's consumer that keeps the dashboard's counters."""

    name = "counters"
    streams = {"hits": HIT_FIELDS, "exposures": BLOCK_FIELDS}

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s

    def fold(self, chunk: Chunk) -> None:
        (fold_hits if chunk.stream == "hits" else fold_blocks)(chunk.columns)
