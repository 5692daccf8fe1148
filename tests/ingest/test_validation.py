"""ingest.validation: whole-batch checks without a database."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.validation import Field, _all_valid, _check_value, ordered_check, validate_batch

FIELDS = (Field("n", "int", lo=0, hi=10), Field("f", "float", required=False, lo=-1, hi=1))


def test_valid_items_come_back_as_columns_in_order():
    result = validate_batch([{"n": 1, "f": 0.5}, {"n": 2}], FIELDS)
    assert result.columns == {"n": [1, 2], "f": [0.5, None]}
    assert result.rejected == []


def test_every_problem_of_an_item_is_reported_together():
    result = validate_batch([{"n": 11, "f": 2}], FIELDS)
    assert result.rejected == [
        {"index": 0, "errors": {"n": "must be between 0 and 10", "f": "must be between -1 and 1"}}
    ]
    assert result.n_valid == 0


def test_a_float_field_takes_integers_but_an_int_field_takes_no_floats_or_bools():
    result = validate_batch([{"n": 1, "f": 1}, {"n": 1.0}, {"n": False}], FIELDS)
    assert result.columns == {"n": [1], "f": [1]}
    assert [r["index"] for r in result.rejected] == [1, 2]


def test_infinite_floats_are_rejected_even_if_the_parser_let_them_through():
    result = validate_batch([{"n": 1, "f": float("inf")}, {"n": 1, "f": float("nan")}], FIELDS)
    assert [r["errors"] for r in result.rejected] == [{"f": "must be finite"}] * 2


def test_cross_checks_see_the_whole_batch():
    fields = (Field("a", "int"), Field("b", "int"))
    result = validate_batch([{"a": 1, "b": 2}, {"a": 2, "b": 2}], fields, [ordered_check("a", "b")])
    assert result.rejected == [{"index": 1, "errors": {"b": "must be after a"}}]


def test_an_empty_batch_is_valid_and_empty():
    result = validate_batch([], FIELDS)
    assert result.n_valid == 0
    assert result.rejected == []


def test_the_validated_hit_fields_are_the_upload_contract():
    from ingest.specs import HIT_FIELDS
    from vocab.contracts import UPLOAD_HIT_FIELDS

    assert tuple(f.name for f in HIT_FIELDS) == UPLOAD_HIT_FIELDS


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 10, 11, 0.0, -0.0, 1.0, -1.0, 1e308, 1e-320]),
    st.text(max_size=3),
)


@st.composite
def columns(draw: st.DrawFn) -> list[object]:
    """Mostly in-range values, with odd ones anywhere: the cases a shortcut gets wrong."""
    good: list[object] = draw(st.lists(st.one_of(st.integers(-1, 1), st.floats(-1, 1)), max_size=6))
    tricky = st.sampled_from([math.nan, math.inf, -math.inf, True, 10**400, 2, -2, 1.5, "1", None])
    for odd in draw(st.lists(st.one_of(tricky, VALUES), max_size=2)):
        good.insert(draw(st.integers(0, len(good))), odd)
    return good


@settings(max_examples=500, deadline=None)
@given(columns(), st.sampled_from((*FIELDS, Field("r", "float", lo=-1e308, hi=1e308))))
def test_the_whole_column_shortcut_accepts_only_what_each_value_check_accepts(column, field):
    errors: dict[int, dict[str, str]] = {}
    for i, value in enumerate(column):
        _check_value(i, value, field, errors)
    if _all_valid(column, field):
        assert errors == {}
    result = validate_batch([{field.name: v} for v in column], (field,))
    assert {r["index"] for r in result.rejected} == set(errors)
