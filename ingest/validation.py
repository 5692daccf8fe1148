"""Whole-batch validation of uploads, column by column.

A batch is checked one field at a time across all its items (never one
serializer per item), so a 1000-hit batch costs a few thousand cheap checks.
Every problem is reported as {field: message} for the item's index.
"""

from __future__ import annotations

import math
import operator
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vocab.units import NS_PER_S


@dataclass(frozen=True)
class Field:
    """One JSON field of an upload item: its type, whether it is required, its range."""

    name: str
    kind: str  # "int", "float" or "uuid"
    required: bool = True
    lo: float | None = None
    hi: float | None = None
    help: str = ""


Errors = dict[int, dict[str, str]]
Columns = dict[str, list[Any]]
CrossCheck = Callable[[Columns, Errors], None]


@dataclass
class BatchResult:
    """The valid items as columns, the reasons the others were rejected, and warnings.

    A warning names fields the contract does not know (a typo, or a newer
    app): the item is still stored, without them, and the reply says so.
    """

    columns: Columns
    rejected: list[dict[str, Any]]
    warnings: list[dict[str, Any]]

    @property
    def n_valid(self) -> int:
        return len(next(iter(self.columns.values()), []))


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range_message(field: Field) -> str:
    if field.lo is not None and field.hi is not None:
        return f"must be between {_bound(field.lo)} and {_bound(field.hi)}"
    if field.lo is not None:
        return f"must be at least {_bound(field.lo)}"
    return f"must be at most {_bound(field.hi or 0)}"


def _check_number(value: Any, field: Field) -> str | None:
    if field.kind == "int":
        # bool is an int subclass in Python but never a valid count or time.
        if type(value) is not int:
            return "must be an integer"
    elif type(value) not in (int, float):
        return "must be a number"
    elif type(value) is float and not math.isfinite(value):  # ints are finite, even 10**400
        return "must be finite"
    if (field.lo is not None and value < field.lo) or (field.hi is not None and value > field.hi):
        return _range_message(field)
    return None


def _check_uuid(value: Any) -> tuple[str | None, uuid.UUID | None]:
    if not isinstance(value, str):
        return "must be a UUID string", None
    try:
        return None, uuid.UUID(value)
    except ValueError:
        return "must be a UUID string", None


_KINDS: dict[str, set[type]] = {"int": {int}, "float": {int, float}}


def _all_valid(column: list[Any], field: Field) -> bool:
    """The common case: every value present (or optional), of its type and in range.

    Checked by C loops (map, min, max, sum); anything else goes to the per-value checks.
    """
    if field.kind == "uuid" or field.lo is None or field.hi is None:
        return False
    types = set(map(type, column))
    if type(None) in types:
        if field.required:
            return False
        types.discard(type(None))
        column = [v for v in column if v is not None]
    if not column:
        return True
    if not types <= _KINDS[field.kind]:
        return False
    if float in types and not _finite_sum(column):
        return False
    return bool(field.lo <= min(column) and max(column) <= field.hi)


def _finite_sum(column: list[Any]) -> bool:
    """False for a NaN or an infinity (or a sum that overflows): NaN slips past min and max."""
    try:
        return math.isfinite(sum(column))
    except OverflowError:  # an int too large for a float
        return False


def _check_column(items: list[Any], field: Field, errors: Errors, all_dicts: bool) -> list[Any]:
    if all_dicts:
        column = list(map(operator.methodcaller("get", field.name), items))
    else:
        column = [item.get(field.name) if type(item) is dict else None for item in items]
    if not _all_valid(column, field):
        column = [
            _check_value(i, v, field, errors) if type(items[i]) is dict else None
            for i, v in enumerate(column)
        ]
    if field.kind == "float" and int in set(map(type, column)):
        # JSON encoders write 5.0 as 5; the database column wants one type.
        # (An int too large for a float is out of every range, so already rejected.)
        column = [float(v) if type(v) is int and -1e300 < v < 1e300 else v for v in column]
    return column


def _check_value(i: int, value: Any, field: Field, errors: Errors) -> Any:
    if value is None:
        if field.required:
            errors.setdefault(i, {})[field.name] = "is required"
        return None
    if field.kind == "uuid":
        problem, value = _check_uuid(value)
    else:
        problem = _check_number(value, field)
    if problem:
        errors.setdefault(i, {})[field.name] = problem
    return value


def validate_batch(
    items: list[Any], fields: Sequence[Field], cross_checks: Sequence[CrossCheck] = ()
) -> BatchResult:
    """Check every item of a batch; return the valid ones as columns plus the rejections."""
    errors: Errors = {}
    warnings: Errors = {}
    known = {field.name for field in fields}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors[i] = {"item": "must be a JSON object"}
        elif not known.issuperset(item):
            warnings[i] = {name: "unknown field, not stored" for name in item if name not in known}
    all_dicts = set(map(type, items)) == {dict}
    columns = {field.name: _check_column(items, field, errors, all_dicts) for field in fields}
    for check in cross_checks:
        check(columns, errors)
    keep = [i for i in range(len(items)) if i not in errors]
    valid = (
        columns if not errors else {name: [col[i] for i in keep] for name, col in columns.items()}
    )
    rejected = [{"index": i, "errors": errors[i]} for i in sorted(errors)]
    warned = [{"index": i, "warnings": warnings[i]} for i in sorted(warnings) if i not in errors]
    return BatchResult(columns=valid, rejected=rejected, warnings=warned)


def time_window_check(name: str, max_age_s: int, max_future_s: int) -> CrossCheck:
    """Times must fall in [now - max_age, now + max_future]: clocks are NTP-synced."""

    def check(columns: Columns, errors: Errors) -> None:
        now = time.time_ns()
        lo, hi = now - max_age_s * NS_PER_S, now + max_future_s * NS_PER_S
        for i, value in enumerate(columns[name]):
            if type(value) is int and not lo <= value <= hi and name not in errors.get(i, {}):
                errors.setdefault(i, {})[name] = (
                    f"must be within the last {max_age_s} s and at most {max_future_s} s ahead "
                    f"of the server's clock (now {now}): a window that moves with time"
                    + _unit_hint(value, now)
                )

    return check


# What an epoch time of today looks like in each unit a client may have used by mistake.
_UNITS = (("seconds", NS_PER_S), ("milliseconds", 10**6), ("microseconds", 10**3))


def _unit_hint(value: int, now_ns: int) -> str:
    """'; it looks like milliseconds ...' when value is near now in a coarser unit."""
    for unit, ns in _UNITS:
        if abs(value * ns - now_ns) < 366 * 86400 * NS_PER_S:
            return f"; it looks like {unit}: times are UTC epoch nanoseconds (multiply by {ns:,})"
    return ""


def ordered_check(start: str, end: str) -> CrossCheck:
    """End must come after start."""

    def check(columns: Columns, errors: Errors) -> None:
        for i, (a, b) in enumerate(zip(columns[start], columns[end], strict=True)):
            if type(a) is int and type(b) is int and b <= a:
                errors.setdefault(i, {})[end] = f"must be after {start}"

    return check


def longest_check(start: str, end: str, max_s: int) -> CrossCheck:
    """A block may last at most max_s seconds: live time is credited per minute it covers."""

    def check(columns: Columns, errors: Errors) -> None:
        for i, (a, b) in enumerate(zip(columns[start], columns[end], strict=True)):
            too_long = type(a) is int and type(b) is int and b - a > max_s * NS_PER_S
            if too_long and end not in errors.get(i, {}):
                errors.setdefault(i, {})[end] = (
                    f"block lasts {(b - a) / NS_PER_S:.0f} s, over the limit of {max_s} s: split it"
                )

    return check
