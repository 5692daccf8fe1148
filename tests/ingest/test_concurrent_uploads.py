"""Racing retries against a live server on PostgreSQL store every (device, seq) once."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.db.models import Count

from ingest.models import Hit
from tests.factories import hit, make_device

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only]

N_DEVICES, SEQS_PER_DEVICE, BATCH, N_POSTS, THREADS = 4, 400, 100, 160, 16


def test_overlapping_retried_batches_from_many_threads_are_stored_exactly_once(
    live_server, transactional_db
):
    tokens = [make_device()[1] for _ in range(N_DEVICES)]
    rng = random.Random(7)
    # Each post is a window of consecutive seqs of one device; windows overlap a lot.
    plans = []
    for _ in range(N_POSTS):
        device = rng.randrange(N_DEVICES)
        start = rng.randrange(0, SEQS_PER_DEVICE - BATCH + 1, 20)
        plans.append((device, list(range(start, start + BATCH))))
    url = f"{live_server.url}/api/v1/hits"
    t0 = time.time_ns() - 60 * 10**9  # a retry resends the same hit: the same time

    def post(plan: tuple[int, list[int]]) -> dict[str, Any]:
        device, seqs = plan
        body = {"hits": [hit(seq=s, t_ns=t0 + s, value=s % 1000) for s in seqs]}
        headers = {"Authorization": f"Token {tokens[device]}"}
        reply = requests.post(url, json=body, headers=headers, timeout=60)
        assert reply.status_code == 201, reply.text
        return reply.json()

    with ThreadPoolExecutor(THREADS) as pool:
        replies = list(pool.map(post, plans))

    expected = {(d, s) for d, seqs in plans for s in seqs}
    assert Hit.objects.count() == len(expected)
    assert not Hit.objects.values("device", "seq").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert sum(r["accepted"] for r in replies) == len(expected)
    assert sum(r["accepted"] + r["duplicates"] for r in replies) == N_POSTS * BATCH
    assert all(r["rejected"] == [] for r in replies)


def test_the_same_hits_sent_at_once_in_opposite_orders_never_deadlock(
    live_server, transactional_db, settings
):
    """Once 14 of 40 such requests got a 500 deadlock, while uploads also updated counters.

    The upload is one INSERT now, and it takes the rows in key order as well;
    this test passed with and without that ordering, so it guards the whole path.
    """
    settings.CROWDRAY_DEVICE_HITS_PER_HOUR = 0  # 40 x 1,000 hits from one phone
    token = make_device()[1]
    seqs = list(range(1000))
    t0 = time.time_ns() - 60 * 10**9
    sent = [hit(seq=s, t_ns=t0 + s) for s in seqs]
    bodies = [{"hits": sent if k % 2 else sent[::-1]} for k in range(40)]
    url = f"{live_server.url}/api/v1/hits"

    def post(body: dict[str, Any]) -> int:
        headers = {"Authorization": f"Token {token}"}
        return requests.post(url, json=body, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        codes = list(pool.map(post, bodies))
    assert codes == [201] * len(bodies)
    assert Hit.objects.count() == 1000


class AbortedError(Exception):
    """What psycopg raises for a deadlock: an error with its SQLSTATE."""

    sqlstate = "40P01"


def aborting(times: int):
    """A statement that PostgreSQL aborts `times` times, then runs."""
    from django.db import OperationalError

    calls = []

    def run() -> int:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("deadlock detected") from AbortedError()
        return 7

    return run, calls


def test_a_deadlocked_insert_is_retried_inside_the_request_up_to_three_times():
    from django.db import OperationalError

    from ingest.store import retrying

    run, calls = aborting(2)
    assert retrying(run) == 7 and len(calls) == 3
    run, calls = aborting(3)
    with pytest.raises(OperationalError):
        retrying(run)
    assert len(calls) == 3
