"""The query parameters' schemas (api.openapi) say exactly what the parsers accept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.openapi import BBOX, NEAR, TIME
from api.query import QueryError, parse_bbox
from vocab.times import TimeFormatError, parse_time_ns


def matches(schema: dict[str, str], text: str) -> bool:
    return re.search(schema["pattern"], text) is not None


@settings(max_examples=300, deadline=None)
@given(st.from_regex(TIME["pattern"]))
def test_every_time_the_pattern_allows_is_accepted(text):
    parse_time_ns(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01",
        "2026-12-01T10:00",
        "2026-12-01T10:00:00.123456789Z",
        "2028-02-29",
        "2026-12-01T10:00:00+05:30",
        "1796083200000000000",
        "-5",
        "8999999999999999999",
    ],
)
def test_the_time_pattern_allows_what_users_write(text):
    assert matches(TIME, text)
    parse_time_ns(text)


@pytest.mark.parametrize(
    "text", ["then", "2026-02-29", "2026-04-31", "2026-13-01", "9000000000000000000", ""]
)
def test_a_time_the_pattern_refuses_is_refused(text):
    assert not matches(TIME, text)
    with pytest.raises(TimeFormatError):
        parse_time_ns(text)


def test_a_time_past_2255_or_before_1684_is_refused_not_overflowed():
    with pytest.raises(TimeFormatError, match="1684 to 2255"):
        parse_time_ns("9999-12-31T00:00:00Z")
    with pytest.raises(TimeFormatError, match="1684 to 2255"):
        parse_time_ns("-9000000000000000000")
    assert parse_time_ns("2255-01-01") < 9 * 10**18


@settings(max_examples=300, deadline=None)
@given(st.from_regex(BBOX["pattern"]))
def test_every_bbox_the_pattern_allows_is_accepted_when_its_latitudes_are_in_order(text):
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in text.strip().split(","))
    if min_lat > max_lat:  # the one rule between the fields, in the description
        with pytest.raises(QueryError, match="min_lat <= max_lat"):
            parse_bbox(text)
    else:
        assert parse_bbox(text) == (min_lon, min_lat, max_lon, max_lat)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(NEAR["pattern"]))
def test_every_near_the_pattern_allows_is_a_place(text):
    lat, lon = (float(v) for v in text.strip().split(","))
    assert -90 <= lat <= 90 and -180 <= lon <= 180


@pytest.mark.parametrize("text", ["0,91,1,92", "0,-91,1,1", "181,0,182,1", "a,b,c,d", "1,2,3"])
def test_a_bbox_the_pattern_refuses_is_refused(text):
    assert not matches(BBOX, text)
    with pytest.raises(QueryError):
        parse_bbox(text)
