"""A batch's number columns in PostgreSQL's binary formats, written by NumPy.

An upload is first sent as the rows of a binary COPY (copy_rows). When that
cannot be used (a retry, a null), each column goes as one array parameter of
an unnest() insert (binary_array, ingest.store): psycopg dumps a list element
by element in Python; NumPy writes the same bytes about 3x faster
(bench/bench_upload_cpu.py). A column holding a null keeps psycopg's path.

The layout is PostgreSQL's array_send (src/backend/utils/adt/arrayfuncs.c):
int32 dimensions (1), int32 has-nulls flag (0), the element type's OID, then
per dimension int32 length and int32 lower bound (1); then per element an
int32 byte length and the value, all big-endian.
"""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime, timedelta
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


def _numbers(values: list[Any], sql_type: str) -> np.ndarray[Any, Any] | None:
    """Values as a NumPy array of sql_type's big-endian type, or None (see binary_array)."""
    if sql_type not in _TYPES or not values or None in values:
        return None
    try:
        return np.array(values, dtype=_TYPES[sql_type][0][1:])  # native first: overflow raises
    except (OverflowError, TypeError, ValueError):
        return None


def binary_array(values: list[Any], sql_type: str) -> Any:
    """Values as a binary array of sql_type, or values unchanged when NumPy cannot write them.

    Those are an empty column, a column with a null, a type this module does not
    know, or an integer out of the type's range (the database then gives its own
    error). Validation has already checked each value's JSON type.
    """
    numbers = _numbers(values, sql_type)
    if numbers is None:
        return values
    dtype, oid, _ = _TYPES[sql_type]
    element = np.dtype([("size", ">i4"), ("value", dtype)])
    body = np.empty(len(values), dtype=element)
    body["size"] = element["value"].itemsize
    body["value"] = numbers
    header = struct.pack(">iiiii", 1, 0, oid, len(values), 1)
    return _WRAPPERS[sql_type](header + body.tobytes())


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, extension
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # where timestamptz counts microseconds from


def copy_rows(
    device: uuid.UUID, received_at: datetime, columns: dict[str, list[Any]]
) -> bytes | None:
    """The rows (device, received_at, *columns) in COPY's binary format; None when it cannot.

    None for the cases binary_array leaves to psycopg (a null, an empty column,
    an unknown type, an integer out of range): those rows take the INSERT. The
    layout is COPY BINARY's (PostgreSQL docs, "COPY", Binary Format): a header,
    then per row an int16 field count and per field an int32 length and the
    value as its type's send function writes it, then an int16 -1.
    """
    numbers = {name: _numbers(col, PG_TYPES.get(name, "")) for name, col in columns.items()}
    if any(v is None for v in numbers.values()):
        return None
    fields: list[tuple[str, str]] = [
        ("count", ">i2"),
        ("n_device", ">i4"),
        ("device", "V16"),
        ("n_received", ">i4"),
        ("received", ">i8"),
    ]
    for name in columns:
        fields += [(f"n_{name}", ">i4"), (name, _TYPES[PG_TYPES[name]][0])]
    rows = np.empty(len(next(iter(columns.values()))), dtype=np.dtype(fields))
    rows["count"] = 2 + len(columns)
    rows["n_device"], rows["device"] = 16, np.frombuffer(device.bytes, dtype="V16")[0]
    rows["n_received"] = 8
    rows["received"] = (received_at - _PG_EPOCH) // timedelta(microseconds=1)
    for name, values in numbers.items():
        rows[f"n_{name}"] = rows.dtype[name].itemsize
        rows[name] = values
    return _COPY_HEADER + rows.tobytes() + b"\xff\xff"
