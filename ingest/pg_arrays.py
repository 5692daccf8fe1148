"""A batch's number columns as PostgreSQL binary arrays, written by NumPy.

An upload sends each column as one array parameter of an unnest() insert
(ingest.store). psycopg dumps a list element by element in Python; NumPy
writes the same bytes about 3x faster (bench/bench_upload_cpu.py). A column
holding a null keeps psycopg's path.

The layout is PostgreSQL's array_send (src/backend/utils/adt/arrayfuncs.c):
int32 dimensions (1), int32 has-nulls flag (0), the element type's OID, then
per dimension int32 length and int32 lower bound (1); then per element an
int32 byte length and the value, all big-endian.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

# Each upload column's SQL type: one unnest() array each, so a whole batch is 13 parameters.
PG_TYPES = {
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

# SQL type -> (NumPy big-endian type, element OID, array OID), from pg_type.
_TYPES = {
    "bigint": (">i8", 20, 1016),
    "int": (">i4", 23, 1007),
    "float8": (">f8", 701, 1022),
}


class PgArray:
    """Ready-made bytes of a binary array, for a psycopg parameter."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _dumper(array_oid: int) -> type[Dumper]:
    class ArrayDumper(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: Any) -> bytes:
            data: bytes = obj.data
            return data

    return ArrayDumper


_WRAPPERS = {sql: type(f"PgArray_{sql}", (PgArray,), {}) for sql in _TYPES}
_DUMPERS = {sql: _dumper(array_oid) for sql, (_, _, array_oid) in _TYPES.items()}


def register(cursor: psycopg.Cursor[Any]) -> None:
    """Teach a cursor to send PgArray parameters as they are."""
    for sql, wrapper in _WRAPPERS.items():
        cursor.adapters.register_dumper(wrapper, _DUMPERS[sql])


def binary_array(values: list[Any], sql_type: str) -> Any:
    """Values as a binary array of sql_type, or values unchanged when NumPy cannot write them.

    Those are an empty column, a column with a null, a type this module does not
    know, or an integer out of the type's range (the database then gives its own
    error). Validation has already checked each value's JSON type.
    """
    if sql_type not in _TYPES or not values or None in values:
        return values
    dtype, oid, _ = _TYPES[sql_type]
    try:
        numbers = np.array(values, dtype=dtype[1:])  # native first: overflow raises, not wraps
    except (OverflowError, TypeError, ValueError):
        return values
    element = np.dtype([("size", ">i4"), ("value", dtype)])
    body = np.empty(len(values), dtype=element)
    body["size"] = element["value"].itemsize
    body["value"] = numbers
    header = struct.pack(">iiiii", 1, 0, oid, len(values), 1)
    return _WRAPPERS[sql_type](header + body.tobytes())
