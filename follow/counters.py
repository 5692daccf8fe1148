"""The dashboard's counters, folded in by the follower from new hits and blocks.

The public pages never scan the hits table. They read one row per UTC minute
(hits, phones taking data, live time), one row per ~1 km cell with hits, and
each device's last data and last upload times. Only the follower writes these rows, one chunk
of new hits or blocks per transaction, together with its mark (follow.tail),
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

from follow.tail import Chunk, Consumer
from ingest.models import ActiveCell, Device, DeviceDay, DeviceHourCell, DeviceMinute, Minute
from ingest.store import ROWS_PER_STATEMENT, column_uuid
from vocab.cells import Ints, cell_key, cells_of
from vocab.units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MIN, NS_PER_S

# received_ns: received_at as epoch ns, computed by the database (follow.tail.EpochNs)
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
    sql = (
        f"SELECT minute, device_id, hits, live_s FROM {DeviceMinute._meta.db_table} "
        "WHERE minute BETWEEN %s AND %s AND device_id IN ({})"
    )
    devices = sorted({d for _, d in keys}, key=str)
    rows = _rows_of_devices(sql, min(minutes), max(minutes), devices)
    return {(m, d): (hits, live_s) for m, d, hits, live_s in rows}


def _count_device_minutes(add: dict[Pair, tuple[int, float]]) -> dict[Pair, Counted]:
    """Add (hits, live seconds) to each (minute, device), within the caps; what was counted.

    Only the follower writes these rows, one process at a time (follow.tail),
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


def _codes(devices: Sequence[Any]) -> tuple[Ints, list[Any]]:
    """Each row's device as a small integer, and the distinct devices in code order.

    uuid.UUID hashes and compares in Python: dicts keyed by it per row took
    most of the fold's time (cProfile). Its .int is a plain int.
    """
    index: dict[int, int] = {}
    codes = np.fromiter(
        (index.setdefault(d.int, len(index)) for d in devices), np.int64, count=len(devices)
    )
    first = np.unique(codes, return_index=True)[1]
    return codes, [devices[i] for i in first.tolist()]


def _pairs(packed: Ints, unique: list[Any]) -> list[Pair]:
    """(time bin, device) pairs packed as bin * len(unique) + device code."""
    n = len(unique)
    return [
        (b, unique[c]) for b, c in zip((packed // n).tolist(), (packed % n).tolist(), strict=True)
    ]


def _count_pairs(bins: Ints, codes: Ints, unique: list[Any]) -> Counter[Pair]:
    """How many rows fall in each (time bin, device)."""
    packed, sizes = np.unique(bins * len(unique) + codes, return_counts=True)
    return Counter(dict(zip(_pairs(packed, unique), sizes.tolist(), strict=True)))


def _add_cells(codes: Ints, unique: list[Any], t_ns: Ints, lat: Any, lon: Any) -> None:
    """Light each hit's cell on the map, within each device's cells-per-hour cap."""
    keys, centre_lat, centre_lon = cells_of(lat, lon)
    mapped = _within_cell_cap(codes, unique, t_ns, keys)
    if not mapped.any():
        return
    keys, centre_lat, centre_lon = keys[mapped], centre_lat[mapped], centre_lon[mapped]
    cells, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    hits = np.bincount(inverse)
    last = np.full(len(cells), np.iinfo(np.int64).min)
    np.maximum.at(last, inverse, t_ns[mapped])
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


def _within_cell_cap(codes: Ints, unique: list[Any], t_ns: Ints, keys: Ints) -> Any:
    """Which hits may light their cell (a bool array).

    Each device lights at most CROWDRAY_MAX_CELLS_PER_HOUR distinct cells per
    UTC hour, the first it reached, so a phone that reports a new place with
    every hit cannot push volunteers' cells off the map. Its hits still count.
    """
    cap = settings.CROWDRAY_MAX_CELLS_PER_HOUR
    hours = t_ns // NS_PER_HOUR
    triples, first, inverse = np.unique(
        np.stack([hours, codes, keys], axis=1), axis=0, return_index=True, return_inverse=True
    )
    lit = _read_hour_cells(sorted(set(hours.tolist())), sorted(unique, key=str))
    allowed = np.zeros(len(triples), dtype=bool)
    new_rows = []
    for j in np.argsort(first, kind="stable").tolist():  # distinct, first reached first
        hour, code, cell = triples[j].tolist()
        cells = lit.setdefault((hour, unique[code]), set())
        if cell not in cells and len(cells) < cap:
            cells.add(cell)
            new_rows.append((hour, column_uuid(unique[code]), cell))
        allowed[j] = cell in cells
    _execute(
        f"INSERT INTO {DeviceHourCell._meta.db_table} (hour, device_id, cell)",
        new_rows,
        "ON CONFLICT (hour, device_id, cell) DO NOTHING",
    )
    return allowed[inverse.reshape(-1)]


def _read_hour_cells(hours: list[int], devices: list[Any]) -> dict[tuple[int, Any], set[int]]:
    """The cells each (hour, device) has lit so far."""
    sql = (
        f"SELECT hour, device_id, cell FROM {DeviceHourCell._meta.db_table} "
        "WHERE hour BETWEEN %s AND %s AND device_id IN ({})"
    )
    found: dict[tuple[int, Any], set[int]] = {}
    for hour, device, cell in _rows_of_devices(sql, hours[0], hours[-1], devices):
        found.setdefault((hour, device), set()).add(cell)
    return found


def _latest(codes: Ints, unique: list[Any], times: Any) -> dict[Any, int]:
    """Each device's latest time."""
    last = np.full(len(unique), np.iinfo(np.int64).min)
    np.maximum.at(last, codes, np.asarray(times, dtype=np.int64))
    return dict(zip(unique, last.tolist(), strict=True))


def _rank_in_group(groups: Ints, sizes: Ints) -> Ints:
    """Each row's place among the rows of its group (0 for the first), in row order."""
    order = np.argsort(groups, kind="stable")
    starts = np.cumsum(sizes) - sizes
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - np.repeat(starts, sizes)
    return rank


def fold_hits(columns: dict[str, list[Any]]) -> None:
    """Count new hits (columns HIT_FIELDS); call inside the follower's transaction.

    A device's hits beyond CROWDRAY_MAX_HITS_PER_MIN in one minute are stored
    but not counted: not in the per-minute hits, the map's cells or the teams.
    """
    if not columns["t_ns"]:
        return
    codes, unique = _codes(columns["device_id"])
    t_ns = np.asarray(columns["t_ns"], dtype=np.int64)
    minutes = t_ns // NS_PER_MIN
    packed, inverse, sizes = np.unique(
        minutes * len(unique) + codes, return_inverse=True, return_counts=True
    )
    pairs = _pairs(packed, unique)
    counted = _count_device_minutes(
        {p: (n, 0.0) for p, n in zip(pairs, sizes.tolist(), strict=True)}
    )
    room = np.array([counted[p].hits for p in pairs], dtype=np.int64)
    # The first hits of a (minute, device), in id order, fit the cap.
    keep = _rank_in_group(inverse, sizes) < room[inverse]
    active = Counter(m for (m, _), c in counted.items() if c.new)
    kept_minutes, kept_hits = np.unique(minutes[keep], return_counts=True)
    _add_minutes(
        Counter(dict(zip(kept_minutes.tolist(), kept_hits.tolist(), strict=True))), active, {}
    )
    if keep.any():
        _add_cells(
            codes[keep],
            unique,
            t_ns[keep],
            np.asarray(columns["lat"])[keep],
            np.asarray(columns["lon"])[keep],
        )
    days = _count_pairs(t_ns[keep] // NS_PER_DAY, codes[keep], unique)
    _add_device_days(days, {})
    _touch_devices(_latest(codes, unique, t_ns), _latest(codes, unique, columns["received_ns"]))


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
    codes, unique = _codes(devices)
    _touch_devices(
        _latest(codes, unique, columns["end_ns"]), _latest(codes, unique, columns["received_ns"])
    )


class Counters(Consumer):
    """The follower's consumer that keeps the dashboard's counters."""

    name = "counters"
    streams = {"hits": HIT_FIELDS, "exposures": BLOCK_FIELDS}

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s

    def fold(self, chunk: Chunk) -> None:
        (fold_hits if chunk.stream == "hits" else fold_blocks)(chunk.columns)
