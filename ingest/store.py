"""Bulk, idempotent inserts: one statement and one transaction per batch, nothing else.

Everything that follows from new rows (counters, the lake) is the follower's
job (ingest.follower), so an upload only appends.

Conflicts on the idempotency key are skipped by the database itself
(ON CONFLICT DO NOTHING), so two racing retries of a batch store it once and
the inserted-row counts of all replies add up to what is in the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db import connection, transaction

from ingest.models import ExposureBlock, Hit

# SQLite allows 32766 bound parameters per statement; keep well below it.
_SQLITE_CHUNK_ROWS = 1000

# PostgreSQL array types for unnest(), so a whole batch is 13 parameters.
_PG_TYPES = {
    "device_id": "uuid",
    "seq": "bigint",
    "t_ns": "bigint",
    "t_err_ns": "bigint",
    "lat": "float8",
    "lon": "float8",
    "alt_m": "float8",
    "loc_err_m": "float8",
    "x": "int",
    "y": "int",
    "value": "int",
    "n_pixels": "int",
    "block_id": "uuid",
    "start_ns": "bigint",
    "end_ns": "bigint",
    "frames": "bigint",
    "l1_threshold": "int",
    "l2_threshold": "int",
    "n_hits": "bigint",
}


def _insert_ignoring(
    table: str, key: Sequence[str], columns: dict[str, list[Any]], returning: str
) -> list[Any]:
    """Insert the rows given as columns, skip those whose key exists.

    Returns the `returning` column of the rows actually inserted.
    """
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if n == 0:
        return []
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING RETURNING {returning}"
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{_PG_TYPES.get(c, 'timestamptz')}[]" for c in names)
        sql = f"INSERT INTO {table} ({quoted}) SELECT * FROM unnest({arrays}) {conflict}"
        connection.ensure_connection()
        # Django's cursors bind on the client, turning each array into SQL text;
        # a plain psycopg cursor sends them to the server as binary parameters (%b).
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, [columns[c] for c in names])
            return [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        inserted: list[Any] = []
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, n, _SQLITE_CHUNK_ROWS):
            stop = min(start + _SQLITE_CHUNK_ROWS, n)
            values = ", ".join([row] * (stop - start))
            params = [_sqlite_value(columns[c][i]) for i in range(start, stop) for c in names]
            cursor.execute(f"INSERT INTO {table} ({quoted}) VALUES {values} {conflict}", params)
            inserted += [row[0] for row in cursor.fetchall()]
        return inserted


def _sqlite_value(value: Any) -> Any:
    # Django keeps UUIDs in SQLite as 32 hex characters.
    return value.hex if isinstance(value, uuid.UUID) else value


def _with_common(device_id: Any, columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    n = len(next(iter(columns.values()), []))
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    return {"device_id": [device_id] * n, **columns, "received_at": [now] * n}


def insert_hits(device_id: Any, columns: dict[str, list[Any]]) -> int:
    """Store validated hits of one device in one statement; returns how many were new."""
    with transaction.atomic():
        table = Hit._meta.db_table
        return len(
            _insert_ignoring(table, ("device_id", "seq"), _with_common(device_id, columns), "id")
        )


def insert_exposures(device_id: Any, columns: dict[str, list[Any]]) -> int:
    """Store validated exposure blocks of one device; returns how many were new."""
    with transaction.atomic():
        rows = _with_common(device_id, columns)
        key = ("device_id", "block_id")
        return len(_insert_ignoring(ExposureBlock._meta.db_table, key, rows, "id"))
