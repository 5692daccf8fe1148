"""ingest.store on PostgreSQL, committed for real: COPY first, the INSERT for retries and nulls.

Tests in a wrapping transaction never take the COPY (a failed COPY would abort
the transaction), so these commit.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ingest.models import Hit
from ingest.store import insert_hits
from tests.factories import make_device

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]


NOW = time.time_ns()


def columns(seqs: list[int], **more: list[Any]) -> dict[str, list[Any]]:
    """Hits as a phone sends them: the same seq, the same time (a retry)."""
    return {
        "seq": seqs,
        "t_ns": [NOW + s for s in seqs],
        "lat": [46.2] * len(seqs),
        "lon": [6.14] * len(seqs),
        **more,
    }


def stored(device: Any) -> list[int]:
    return sorted(Hit.objects.filter(device=device).values_list("seq", flat=True))


def test_a_batch_a_retry_and_a_partly_new_batch_are_stored_once():
    device, _ = make_device()
    assert insert_hits(device.id, columns([1, 2, 3])) == 3
    assert insert_hits(device.id, columns([1, 2, 3])) == 0
    assert insert_hits(device.id, columns([3, 4, 5])) == 2
    assert stored(device) == [1, 2, 3, 4, 5]


def test_a_key_twice_in_one_batch_is_stored_once():
    device, _ = make_device()
    assert insert_hits(device.id, columns([7, 7, 8])) == 2
    assert stored(device) == [7, 8]


def test_a_batch_with_a_null_is_stored_with_it():
    device, _ = make_device()
    assert insert_hits(device.id, columns([1, 2], alt_m=[None, 410.0])) == 2
    assert list(
        Hit.objects.filter(device=device).order_by("seq").values_list("alt_m", flat=True)
    ) == [None, 410.0]
