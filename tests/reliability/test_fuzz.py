"""Generated input never gets a 5xx: upload batches, query strings, page filters (both databases).

Hypothesis generates JSON of every shape (huge and non-finite numbers, wrong
types, unknown keys, nesting) as upload items, and arbitrary text as filter
values. Every reply must be a 2xx or a 4xx; a 4xx must say what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS

pytestmark = pytest.mark.postgres
EXAMPLES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.just(10**400),
    st.just("NaN"),
    st.just(-1),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def items(fields: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from([f.name for f in fields] + ["lattitude", "", "x" * 40])
    return st.one_of(st.dictionaries(keys, values, max_size=len(fields) + 2), values)


@EXAMPLES
@given(batch=st.lists(items(HIT_FIELDS), max_size=8))
def test_any_hits_batch_is_answered_without_a_server_error(device_client, batch):
    reply = device_client.post(
        "/api/v1/hits", json.dumps({"hits": batch}), content_type="application/json"
    )
    assert reply.status_code in (201, 400, 413, 422), reply.content
    if reply.status_code >= 400:
        assert reply.json()["detail"]


@EXAMPLES
@given(batch=st.lists(items(EXPOSURE_FIELDS), max_size=8))
def test_any_exposure_batch_is_answered_without_a_server_error(device_client, batch):
    reply = device_client.post(
        "/api/v1/exposures", json.dumps({"blocks": batch}), content_type="application/json"
    )
    assert reply.status_code in (201, 400, 413, 422), reply.content


@EXAMPLES
@given(body=values)
def test_any_json_body_is_answered_without_a_server_error(device_client, body):
    reply = device_client.post("/api/v1/hits", json.dumps(body), content_type="application/json")
    assert reply.status_code in (201, 400, 413, 422), reply.content


text = st.text(max_size=24)
FILTERS = {
    "/api/v1/showers": ("since", "until", "min_devices", "min_sigma", "page_size", "cursor"),
    "/showers/": ("since", "until", "min_devices", "min_sigma", "page"),
}
SEARCH = ("since", "min_devices", "bbox", "near", "within_km", "min_energy", "sort", "after")


@EXAMPLES
@given(path=st.sampled_from(sorted(FILTERS)), data=st.data())
def test_any_filter_values_are_answered_without_a_server_error(db, path, data):
    names = FILTERS[path]
    params = data.draw(st.dictionaries(st.sampled_from(names), text, max_size=len(names)))
    reply = APIClient().get(path, params)
    assert reply.status_code < 500, (path, params, reply.content[:300])


@EXAMPLES
@given(data=st.data())
def test_any_search_values_are_answered_without_a_server_error(db, search_index, data):
    params = data.draw(st.dictionaries(st.sampled_from(SEARCH), text, max_size=len(SEARCH)))
    reply = APIClient().get("/api/v1/showers/search", params)
    assert reply.status_code < 500, (params, reply.content[:300])


@EXAMPLES
@given(data=st.data())
def test_any_search_values_on_the_database_are_answered_without_a_server_error(db, settings, data):
    settings.ELASTICSEARCH_URL = ""
    params = data.draw(st.dictionaries(st.sampled_from(SEARCH), text, max_size=len(SEARCH)))
    reply = APIClient().get("/api/v1/showers/search", params)
    assert reply.status_code < 500, (params, reply.content[:300])
