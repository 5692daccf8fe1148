"""Researchers' access: `crowdray researcher`, their tokens, exposures and a shower's hits."""

from __future__ import annotations

import re
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ingest.models import ExposureBlock, Hit
from tests.factories import block, hit, hits, make_device, make_shower
from vocab.units import NS_PER_DAY, NS_PER_MS, NS_PER_S

pytestmark = pytest.mark.postgres
MS, S = NS_PER_MS, NS_PER_S


def add_researcher(email: str = "ada@example.org", name: str = "Ada Lovelace") -> str:
    out = StringIO()
    call_command("researcher", "add", email, "--name", name, stdout=out)
    match = re.search(r"Token (\S+)'", out.getvalue())
    assert match, out.getvalue()
    return match.group(1)


def as_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def uploaded(device_client) -> APIClient:
    device_client.post("/api/v1/hits", {"hits": hits(4)}, format="json")
    device_client.post("/api/v1/exposures", {"blocks": [block()]}, format="json")
    return device_client


def test_a_researcher_token_reads_hits_exposures_and_a_showers_member_hits(uploaded):
    researcher = as_token(add_researcher())
    assert len(researcher.get("/api/v1/hits").json()["results"]) == 4
    blocks = researcher.get("/api/v1/exposures").json()["results"]
    assert [b["block_id"] for b in blocks] == [str(ExposureBlock.objects.get().block_id)]
    shower = make_shower(hits_of=list(Hit.objects.all()[:3]))
    members = researcher.get(f"/api/v1/showers/{shower.shower_id}/hits").json()
    assert members["shower_id"] == shower.shower_id
    exact = {(h.lat, h.lon) for h in Hit.objects.all()[:3]}
    assert {(h["lat"], h["lon"]) for h in members["hits"]} == exact
    assert researcher.get("/api/v1/showers/NOPE/hits").status_code == 404


def test_a_shower_across_midnight_lists_its_members_of_both_days(device_client):
    midnight = (time.time_ns() // NS_PER_DAY - 1) * NS_PER_DAY  # yesterday's: all in the past
    times = [midnight - 30 * MS, midnight - 10 * MS, midnight + 20 * MS, midnight + 2 * S]
    body = {"hits": [hit(seq=k, t_ns=t) for k, t in enumerate(times)]}
    assert device_client.post("/api/v1/hits", body, format="json").status_code == 201
    members = list(Hit.objects.filter(t_ns__lt=midnight + S))
    shower = make_shower(hits_of=members)
    researcher = as_token(add_researcher())
    listed = researcher.get(f"/api/v1/showers/{shower.shower_id}/hits").json()["hits"]
    assert [h["t_ns"] for h in listed] == times[:3]


def test_device_tokens_and_anonymous_clients_get_no_researcher_data(uploaded):
    shower = make_shower(hits_of=list(Hit.objects.all()[:2]))
    for path in ("/api/v1/hits", "/api/v1/exposures", f"/api/v1/showers/{shower.shower_id}/hits"):
        assert uploaded.get(path).status_code == 403, path
        assert APIClient().get(path).status_code == 401, path


def test_a_researcher_token_cannot_upload(db):
    researcher = as_token(add_researcher())
    reply = researcher.post("/api/v1/hits", {"hits": hits(1)}, format="json")
    assert reply.status_code == 403


def test_revoking_ends_access_and_adding_again_issues_a_new_token(uploaded):
    first = add_researcher()
    call_command("researcher", "revoke", "ada@example.org", stdout=StringIO())
    assert as_token(first).get("/api/v1/hits").status_code == 401
    second = add_researcher()
    assert second != first and as_token(second).get("/api/v1/hits").status_code == 200
    with pytest.raises(CommandError, match="has no token"):
        call_command("researcher", "revoke", "nobody@example.org", stdout=StringIO())
    with pytest.raises(CommandError, match="not an email address"):
        call_command("researcher", "add", "ada", stdout=StringIO())


def test_exposures_filter_by_overlap_with_the_time_range(uploaded):
    researcher = as_token(add_researcher())
    stored = ExposureBlock.objects.get()
    inside = {"since": stored.start_ns + 1, "until": stored.end_ns - 1}
    assert len(researcher.get("/api/v1/exposures", inside).json()["results"]) == 1
    after = {"since": stored.end_ns}
    assert researcher.get("/api/v1/exposures", after).json()["results"] == []
    assert researcher.get("/api/v1/exposures", {"bogus": 1}).status_code == 400


def test_the_list_names_researchers(db):
    add_researcher()
    make_device()
    out = StringIO()
    call_command("researcher", "list", stdout=out)
    assert out.getvalue().startswith("ada@example.org\tAda Lovelace\tsince ")
