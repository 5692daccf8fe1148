"""Bulk, idempotent inserts: one statement and one transaction per batch, nothing else.

Everything that follows from new rows (counters, the lake) is the follower's
job (follow.follower), so an upload only appends.

Conflicts on the idempotency key ((device, seq, t_ns) for hits, (device,
block_id, end_ns) for blocks; ingest.days says why the times) are skipped by the database itself
(ON CONFLICT DO NOTHING), so two racing retries of a batch store it once and
the inserted-row counts of all replies add up to what is in the table. On
PostgreSQL a batch is first COPYed, which costs the server less; a COPY that
meets an existing key stores nothing, and the INSERT then skips those keys.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db import OperationalError, connection, transaction

from ingest.days import ensure_days
from ingest.models import ExposureBlock, Hit
from ingest.pg_arrays import PG_TYPES, binary_array, copy_rows, register

log = logging.getLogger(__name__)
# SQLite allows 32766 bound parameters per statement; keep well below it.
ROWS_PER_STATEMENT = 1000


def _insert_ignoring(
    table: str, key: Sequence[str], columns: dict[str, list[Any]], device_id: Any
) -> int:
    """Insert one device's rows, given as columns, skipping those whose key exists.

    Returns how many rows were inserted.
    """
    n = len(next(iter(columns.values()), []))
    if n == 0:
        return 0
    # Rows go in key order, so two uploads of the same keys in opposite orders
    # take their locks in the same order and cannot deadlock.
    keys = list(zip(*(columns[k] for k in key if k in columns), strict=True))
    order = sorted(range(n), key=keys.__getitem__)
    if order != list(range(n)):  # usually they come in order already
        columns = {name: [col[i] for i in order] for name, col in columns.items()}
    common = {"device_id": device_id, "received_at": datetime.now(UTC)}
    names = [*common, *columns]
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING RETURNING 1"
    if connection.vendor == "postgresql":
        return _insert_postgres(table, quoted, conflict, common, columns)
    now = connection.ops.adapt_datetimefield_value(common["received_at"])
    rows = [
        [column_uuid(device_id), now, *(_sqlite_value(v) for v in values)]
        for values in zip(*columns.values(), strict=True)
    ]
    inserted = 0
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, n, ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            values = ", ".join([placeholders] * len(chunk))
            params = [v for row in chunk for v in row]
            cursor.execute(f"INSERT INTO {table} ({quoted}) VALUES {values} {conflict}", params)
            inserted += len(cursor.fetchall())
    return inserted


def _insert_postgres(
    table: str, quoted: str, conflict: str, common: dict[str, Any], columns: dict[str, list[Any]]
) -> int:
    """Insert rows by COPY, or (a retry; a null) INSERT ... ON CONFLICT; how many were new."""
    # One statement is a transaction of its own: no BEGIN and COMMIT round trips.
    arrays = ", ".join(f"%b::{PG_TYPES[c]}[]" for c in columns)
    sql = (
        f"INSERT INTO {table} ({quoted}) SELECT %b::uuid, %b::timestamptz, u.* "
        f"FROM unnest({arrays}) AS u {conflict}"
    )
    # A connection kept from before a database restart is replaced here, as Django's
    # own cursors would (CONN_HEALTH_CHECKS), not found broken by the insert.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    # COPY costs PostgreSQL less than INSERT ... ON CONFLICT (bench/bench_insert.py),
    # but fails on a key that exists: then (a retry) the INSERT skips those rows.
    # Inside an outer transaction a failed COPY would abort it, so only outside.
    device, n = common["device_id"], len(next(iter(columns.values())))
    rows = None
    if not connection.in_atomic_block and isinstance(device, uuid.UUID):
        rows = copy_rows(device, common["received_at"], columns)

    def run() -> int:
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
            if rows is not None and _copied(
                cur, f"COPY {table} ({quoted}) FROM STDIN (FORMAT BINARY)", rows
            ):
                return n
            # Django's cursors bind on the client, turning each array into SQL text;
            # a plain psycopg cursor sends them to the server as binary parameters (%b).
            register(cur)
            arrays = [binary_array(col, PG_TYPES[name]) for name, col in columns.items()]
            cur.execute(sql, [*common.values(), *arrays])
            return len(cur.fetchall())

    return retrying(run)


def _copied(cur: psycopg.Cursor[Any], copy: str, rows: bytes) -> bool:
    """COPY rows in; False if one's key exists already, and then none is stored."""
    try:
        with cur.copy(copy) as stream:
            stream.write(rows)
    except psycopg.errors.UniqueViolation:
        return False
    return True


RETRYABLE = {"40001", "40P01"}  # serialization failure, deadlock detected
TRIES = 3


def retrying(run: Callable[[], int]) -> int:
    """run(), again (up to TRIES in all) when PostgreSQL aborted it for a conflict.

    Key order makes deadlocks between uploads impossible in principle; this is
    the bound for what still happens. A statement that is its own transaction
    can simply run again; inside an outer transaction it cannot, so it raises.
    """
    for attempt in range(1, TRIES + 1):
        try:
            return run()
        except OperationalError as exc:
            code = getattr(exc.__cause__, "sqlstate", None)
            if code not in RETRYABLE or connection.in_atomic_block or attempt == TRIES:
                raise
            log.warning("insert aborted (%s), try %d of %d: %s", code, attempt + 1, TRIES, exc)
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")  # the loop returns or raises


def column_uuid(value: uuid.UUID) -> Any:
    """A UUID as the database column holds it (Django keeps 32 hex characters in SQLite)."""
    return value.hex if connection.vendor == "sqlite" else value


def _sqlite_value(value: Any) -> Any:
    # Django keeps UUIDs in SQLite as 32 hex characters.
    return value.hex if isinstance(value, uuid.UUID) else value


def _days_made(model: type[Hit | ExposureBlock], times: list[int]) -> None:
    """Each UTC day of the rows has its partition (ingest.days; made once, then known)."""
    if times:
        ensure_days(model, min(times), max(times))


def insert_hits(device_id: Any, columns: dict[str, list[Any]]) -> int:
    """Store validated hits of one device in one statement; returns how many were new."""
    _days_made(Hit, columns.get("t_ns", []))
    key = ("device_id", "seq", "t_ns")
    return _insert_ignoring(Hit._meta.db_table, key, columns, device_id)


def stored_hits(device_id: Any, columns: dict[str, list[Any]]) -> int:
    """How many of one device's hits (given as columns) are stored already, by their key."""
    seqs, times = columns.get("seq", []), columns.get("t_ns", [])
    if not seqs:
        return 0
    wanted = set(zip(seqs, times, strict=True))
    within = Hit.objects.filter(device_id=device_id, t_ns__gte=min(times), t_ns__lte=max(times))
    distinct = sorted(set(seqs))
    found: set[tuple[int, int]] = set()
    for start in range(0, len(distinct), ROWS_PER_STATEMENT):
        chunk = distinct[start : start + ROWS_PER_STATEMENT]
        found.update(within.filter(seq__in=chunk).values_list("seq", "t_ns"))
    return len(wanted & found)


def insert_exposures(device_id: Any, columns: dict[str, list[Any]]) -> int:
    """Store validated exposure blocks of one device; returns how many were new."""
    _days_made(ExposureBlock, columns.get("end_ns", []))
    key = ("device_id", "block_id", "end_ns")
    return _insert_ignoring(ExposureBlock._meta.db_table, key, columns, device_id)
