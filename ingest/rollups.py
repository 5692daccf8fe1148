"""Counters the dashboard reads, kept up to date in the upload transaction.

The public pages never scan the hits table: per-minute hit counts, active
devices per minute, live time per day and ~1 km activity cells are updated
here with a handful of upserts per batch.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection

from ingest.models import ActiveCell, ActiveMinute, Device, DeviceMinute, HitMinute, LiveDay
from vocab.cells import cell_of
from vocab.units import NS_PER_MIN, NS_PER_S

SHARDS = 16  # counters are split by device so concurrent uploads do not queue on one row


def shard_of(device: Any) -> int:
    """A device always counts in the same shard of the rollup rows."""
    return uuid.UUID(str(device)).int % SHARDS


def _upsert_add(table: str, key: str, value: str, rows: list[tuple[Any, Any]], shard: int) -> None:
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    sql = (
        f"INSERT INTO {table} ({key}, shard, {value}) VALUES {values} "
        f"ON CONFLICT ({key}, shard) DO UPDATE SET {value} = {table}.{value} + excluded.{value}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for k, n in rows for v in (k, shard, n)])


def record_hits(device: Any, t_ns: list[int], lat: list[float], lon: list[float]) -> None:
    """Count newly stored hits of one device (call inside the upload transaction)."""
    if not t_ns:
        return
    shard = shard_of(device)
    minutes = Counter(t // NS_PER_MIN for t in t_ns)
    _upsert_add(HitMinute._meta.db_table, "minute", "hits", sorted(minutes.items()), shard)
    _mark_active(device, sorted(minutes), max(t_ns))
    cells: dict[str, list[Any]] = {}  # [lat, lon, last t_ns, hits]
    for t, a, b in zip(t_ns, lat, lon, strict=True):
        key, clat, clon = cell_of(a, b)
        entry = cells.setdefault(key, [clat, clon, t, 0])
        entry[2] = max(entry[2], t)
        entry[3] += 1
    rows = [(k, shard, *v) for k, v in sorted(cells.items())]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    cells_table = ActiveCell._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {cells_table} (cell, shard, lat, lon, last_seen_ns, hits) "
            f"VALUES {values} ON CONFLICT (cell, shard) DO UPDATE SET "
            f"hits = {cells_table}.hits + excluded.hits, "
            f"last_seen_ns = CASE WHEN excluded.last_seen_ns > {cells_table}.last_seen_ns "
            f"THEN excluded.last_seen_ns ELSE {cells_table}.last_seen_ns END",
            [v for row in rows for v in row],
        )


def record_blocks(device: Any, start_ns: list[int], end_ns: list[int]) -> None:
    """Count newly stored exposure blocks: live time per day, active minutes."""
    if not end_ns:
        return
    days: dict[date, float] = {}
    for a, b in zip(start_ns, end_ns, strict=True):
        day = datetime.fromtimestamp(b // NS_PER_S, UTC).date()
        days[day] = days.get(day, 0.0) + (b - a) / NS_PER_S
    live = [(d.isoformat(), v) for d, v in sorted(days.items())]
    _upsert_add(LiveDay._meta.db_table, "day", "seconds", live, shard_of(device))
    _mark_active(device, [max(end_ns) // NS_PER_MIN], max(end_ns))


def _mark_active(device: Any, minutes: list[int], last_ns: int) -> None:
    """A device's first row for a minute adds one to that minute's active devices."""
    device_id = device.hex if connection.vendor == "sqlite" else device
    values = ", ".join(["(%s, %s)"] * len(minutes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DeviceMinute._meta.db_table} (minute, device_id) VALUES {values} "
            "ON CONFLICT (minute, device_id) DO NOTHING RETURNING minute",
            [v for m in minutes for v in (m, device_id)],
        )
        new = [(row[0], 1) for row in cursor.fetchall()]
        _upsert_add(ActiveMinute._meta.db_table, "minute", "devices", new, shard_of(device))
        cursor.execute(
            f"UPDATE {Device._meta.db_table} SET last_seen_ns = %s WHERE id = %s "
            "AND (last_seen_ns IS NULL OR last_seen_ns < %s)",
            [last_ns, device_id, last_ns],
        )
