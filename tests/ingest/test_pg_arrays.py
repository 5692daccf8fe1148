"""ingest.pg_arrays: NumPy-written binary arrays and COPY rows read back by PostgreSQL as sent."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pg_arrays import PG_TYPES, PgArray, binary_array, copy_rows, register

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only, pytest.mark.django_db]
INT8 = (-(2**63), 2**63 - 1)
INT4 = (-(2**31), 2**31 - 1)


def read_back(values: list[Any], sql_type: str) -> list[Any]:
    """The array as PostgreSQL reads it, element by element, in order."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        register(cur)
        cur.execute(
            f"SELECT u FROM unnest(%b::{sql_type}[]) WITH ORDINALITY AS t(u, i) ORDER BY i",
            [binary_array(values, sql_type)],
        )
        return [row[0] for row in cur.fetchall()]


def test_the_edges_of_each_type_survive_the_trip():
    assert read_back([*INT8, 0, -1], "bigint") == [*INT8, 0, -1]
    assert read_back([*INT4, 0], "int") == [*INT4, 0]
    floats = [1.7976931348623157e308, -5e-324, -0.0, 0.1, 46.2]
    back = read_back(floats, "float8")
    assert back == floats and math.copysign(1, back[2]) == -1


def test_columns_numpy_cannot_write_keep_psycopgs_path():
    assert not isinstance(binary_array([1, None], "bigint"), PgArray)
    assert not isinstance(binary_array([], "bigint"), PgArray)
    assert not isinstance(binary_array([2**63], "bigint"), PgArray)
    assert not isinstance(binary_array([2**31], "int"), PgArray)
    assert read_back([1, None, 3], "bigint") == [1, None, 3]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(*INT8), min_size=1, max_size=300),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=300),
)
def test_any_batch_reads_back_equal(ints, floats):
    assert read_back(ints, "bigint") == ints
    assert read_back(floats, "float8") == floats


def copied_back(columns: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    """COPY rows of copy_rows into a scratch table shaped like the hits; read them back."""
    connection.ensure_connection()
    names = ", ".join(["device_id", "received_at", *columns])
    types = ", ".join(f"{name} {PG_TYPES[name]}" for name in columns)
    rows = copy_rows(DEVICE, RECEIVED, columns)
    assert rows is not None
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(f"CREATE TEMP TABLE scratch (device_id uuid, received_at timestamptz, {types})")
        with cur.copy(f"COPY scratch ({names}) FROM STDIN (FORMAT BINARY)") as stream:
            stream.write(rows)
        cur.execute(f"SELECT {names} FROM scratch")
        back = cur.fetchall()
        cur.execute("DROP TABLE scratch")
    return back


DEVICE = uuid.UUID("6f1c1d1e-0000-4000-8000-00000000abcd")
RECEIVED = datetime(2026, 11, 23, 21, 30, 5, 123456, tzinfo=UTC)


def test_copy_rows_arrive_as_sent_at_each_types_edges():
    columns: dict[str, list[Any]] = {
        "seq": [*INT8],
        "t_ns": [0, -1],
        "lat": [-90.0, 90.0],
        "lon": [-0.0, 180.0],
        "x": [*INT4],
        "value": [0, 255],
    }
    back = copied_back(columns)
    assert back == [(DEVICE, RECEIVED, *row) for row in zip(*columns.values(), strict=True)]
    assert math.copysign(1, back[0][5]) == -1  # -0.0 stays negative


def test_batches_copy_cannot_write_take_the_insert():
    assert copy_rows(DEVICE, RECEIVED, {"seq": [1, 2], "alt_m": [None, 3.0]}) is None
    assert copy_rows(DEVICE, RECEIVED, {"seq": [2**63]}) is None
    assert copy_rows(DEVICE, RECEIVED, {"block_id": [DEVICE]}) is None
