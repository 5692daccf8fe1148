"""ingest.pg_arrays: NumPy-written binary arrays read back by PostgreSQL as they were sent."""

from __future__ import annotations

import math
from typing import Any

import psycopg
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pg_arrays import PgArray, binary_array, register

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only, pytest.mark.django_db]
INT8 = (-(2**63), 2**63 - 1)
INT4 = (-(2**31), 2**31 - 1)


def read_back(values: list[Any], sql_type: str) -> list[Any]:
    """The array as PostgreSQL reads it, element by element, in order."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        register(cur)
        cur.execute(f"SELECT u FROM unnest(%b::{sql_type}[]) WITH ORDINALITY AS t(u, i) ORDER BY i",
                    [binary_array(values, sql_type)])  # fmt: skip
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
