"""The privacy cells and the counters kept at ingest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coincidence.geo import haversine_m
from ingest.models import ActiveCell, ActiveMinute, DeviceMinute, HitMinute
from ingest.rollups import shard_of
from ingest.store import insert_hits
from tests.factories import make_device
from vocab.cells import cell_of

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(46.2044, 6.1432), (-16.8, 179.9999), (-16.8, -180.0), (89.9999, 12.0), (-90.0, 0.0)],
)
def test_a_cell_centre_is_within_about_a_kilometre_and_never_the_exact_place(lat, lon):
    key, clat, clon = cell_of(lat, lon)
    assert -90 <= clat <= 90 and -180 <= clon <= 180
    assert (clat, clon) != (lat, lon)
    if abs(lat) < 89:
        assert haversine_m(np.array(lat), np.array(lon), np.array(clat), np.array(clon)) < 1000
    assert cell_of(lat, lon)[0] == key


def test_nearby_phones_share_a_cell_and_distant_ones_do_not():
    assert cell_of(46.20441, 6.14321)[0] == cell_of(46.20443, 6.14323)[0]
    assert cell_of(46.2044, 6.1432)[0] != cell_of(46.25, 6.1432)[0]


def test_counters_count_each_new_hit_once_and_each_device_once_per_minute(db):
    device, _ = make_device()
    t0 = 1_790_000_000_000_000_000 // 60_000_000_000 * 60_000_000_000
    columns: dict[str, list[Any]] = {"seq": [1, 2, 3], "t_ns": [t0, t0 + 1, t0 + 61 * 10**9],
               "lat": [46.2] * 3, "lon": [6.1] * 3}  # fmt: skip
    assert insert_hits(device.id, columns) == 3
    assert insert_hits(device.id, columns) == 0  # a retry changes no counter
    minute = t0 // 60_000_000_000
    assert dict(HitMinute.objects.values_list("minute", "hits")) == {minute: 2, minute + 1: 1}
    assert dict(ActiveMinute.objects.values_list("minute", "devices")) == {minute: 1, minute + 1: 1}
    assert set(HitMinute.objects.values_list("shard", flat=True)) == {shard_of(device.id)}
    assert DeviceMinute.objects.count() == 2
    assert ActiveCell.objects.get().hits == 3
    device.refresh_from_db()
    assert device.last_seen_ns == t0 + 61 * 10**9
