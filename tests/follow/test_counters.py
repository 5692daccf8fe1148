"""The privacy cells, and the dashboard counters the follower folds in."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from django.db.models import Sum

from coincidence.geo import haversine_m
from follow.counters import Counters, minutes_covered
from follow.tail import catch_up
from ingest.models import ActiveCell, DeviceDay, DeviceMinute, Hit, Minute
from ingest.store import insert_exposures, insert_hits
from tests.factories import make_device
from vocab.cells import cell_key, cell_of, cells_of
from vocab.units import NS_PER_MIN, NS_PER_S

# On PostgreSQL the tail sees only committed rows, so these tests commit.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = 1_790_000_000_000_000_000 // NS_PER_MIN * NS_PER_MIN  # a minute boundary
M0 = T0 // NS_PER_MIN


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


def test_many_positions_at_once_get_the_cells_they_get_one_at_a_time():
    rng = np.random.default_rng(5)
    lat = np.concatenate([rng.uniform(-90, 90, 2000), [90.0, -90.0, 0.0, 89.995]])
    lon = np.concatenate([rng.uniform(-180, 180, 2000), [180.0, -180.0, 179.99999, -179.99999]])
    keys, clat, clon = cells_of(lat, lon)
    for i in range(len(lat)):
        assert cell_of(lat[i], lon[i]) == (cell_key(keys[i]), clat[i], clon[i])


def test_nearby_phones_share_a_cell_and_distant_ones_do_not():
    assert cell_of(46.20441, 6.14321)[0] == cell_of(46.20443, 6.14323)[0]
    assert cell_of(46.2044, 6.1432)[0] != cell_of(46.25, 6.1432)[0]


def hits_at(times: list[int], first_seq: int = 1) -> dict[str, list[Any]]:
    n = len(times)
    return {
        "seq": list(range(first_seq, first_seq + n)),
        "t_ns": times,
        "lat": [46.2] * n,
        "lon": [6.1] * n,
    }


def blocks(spans: list[tuple[int, int]]) -> dict[str, list[Any]]:
    n = len(spans)
    return {
        "block_id": [uuid.uuid4() for _ in spans],
        "start_ns": [a for a, _ in spans],
        "end_ns": [b for _, b in spans],
        "lat": [46.2] * n,
        "lon": [6.1] * n,
    }


def minutes(field: str) -> dict[int, Any]:
    return dict(Minute.objects.values_list("minute", field))


def test_uploads_change_no_counter_until_the_follower_folds_them():
    device, _ = make_device()
    insert_hits(device.id, hits_at([T0]))
    assert not Minute.objects.exists()
    assert catch_up(Counters()) == {"hits": 1, "exposures": 0}
    assert minutes("hits") == {M0: 1}


def test_each_hit_counts_once_and_each_device_once_per_minute():
    device, _ = make_device()
    batch = hits_at([T0, T0 + 1, T0 + 61 * NS_PER_S])
    assert insert_hits(device.id, batch) == 3
    assert insert_hits(device.id, batch) == 0  # a retry stores nothing
    catch_up(Counters())
    catch_up(Counters())  # a second pass finds nothing new
    assert minutes("hits") == {M0: 2, M0 + 1: 1}
    assert minutes("devices") == {M0: 1, M0 + 1: 1}
    assert DeviceMinute.objects.count() == 2
    assert ActiveCell.objects.get().hits == 3
    device.refresh_from_db()
    assert device.last_seen_ns == T0 + 61 * NS_PER_S


def test_a_block_makes_its_phone_active_in_every_minute_it_covers_and_credits_live_time_there():
    device, _ = make_device()
    start, end = T0 + 30 * NS_PER_S, T0 + 135 * NS_PER_S  # 30 s, 60 s and 15 s of three minutes
    insert_exposures(device.id, blocks([(start, end)]))
    insert_hits(device.id, hits_at([T0 + 70 * NS_PER_S]))  # in a covered minute: no second count
    catch_up(Counters())
    assert minutes("devices") == {M0: 1, M0 + 1: 1, M0 + 2: 1}
    assert minutes("live_s") == pytest.approx({M0: 30.0, M0 + 1: 60.0, M0 + 2: 15.0})
    assert minutes("hits") == {M0: 0, M0 + 1: 1, M0 + 2: 0}
    device.refresh_from_db()
    assert device.last_seen_ns == end


def test_always_on_phones_with_few_hits_plot_as_a_flat_line():
    """20 phones with back-to-back 10-minute blocks and one hit each: 20 active every minute."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        device, _ = make_device()
        spans = [(T0 + k * 10 * NS_PER_MIN, T0 + (k + 1) * 10 * NS_PER_MIN) for k in range(6)]
        insert_exposures(device.id, blocks(spans))
        insert_hits(device.id, hits_at([T0 + int(rng.integers(0, 60 * NS_PER_MIN))]))
    catch_up(Counters())
    assert minutes("devices") == dict.fromkeys(range(M0, M0 + 60), 20)
    assert sum(minutes("live_s").values()) == pytest.approx(20 * 3600)
    assert sum(minutes("hits").values()) == 20


def test_live_time_of_a_block_across_midnight_is_split_between_the_days():
    day = 86_400 * NS_PER_S
    midnight = (T0 // day + 1) * day
    covered = minutes_covered(midnight - 90 * NS_PER_S, midnight + 30 * NS_PER_S)
    before = sum(s for m, s in covered.items() if m * NS_PER_MIN < midnight)
    after = sum(s for m, s in covered.items() if m * NS_PER_MIN >= midnight)
    assert (before, after) == (90.0, 30.0)


def test_a_block_inside_one_minute_credits_only_that_minute():
    assert minutes_covered(T0 + NS_PER_S, T0 + 2 * NS_PER_S) == {M0: 1.0}
    assert minutes_covered(T0, T0 + NS_PER_MIN) == {M0: 60.0}  # the end is exclusive


def test_overlapping_blocks_of_one_phone_count_their_union_not_their_sum():
    """Ten copies of an hour-long block, in one upload and in a later one: one hour."""
    device, _ = make_device()
    hour = (T0, T0 + 60 * NS_PER_MIN)
    insert_exposures(device.id, blocks([hour] * 10))
    catch_up(Counters())
    insert_exposures(device.id, blocks([(T0 + 30 * NS_PER_MIN, T0 + 90 * NS_PER_MIN)]))
    catch_up(Counters())
    assert sum(minutes("live_s").values()) == pytest.approx(90 * 60)
    assert DeviceDay.objects.aggregate(s=Sum("live_s"))["s"] == pytest.approx(90 * 60)
    assert set(minutes("devices").values()) == {1}


def test_a_phone_flooding_hits_counts_at_most_the_cap_per_minute(settings):
    settings.CROWDRAY_MAX_HITS_PER_MIN = 5
    flooder, _ = make_device()
    honest, _ = make_device()
    insert_hits(flooder.id, hits_at([T0 + k for k in range(8)], first_seq=0))
    catch_up(Counters())
    insert_hits(flooder.id, hits_at([T0 + 100 + k for k in range(4)], first_seq=100))  # later chunk
    insert_hits(honest.id, hits_at([T0 + 5, T0 + 6]))
    catch_up(Counters())
    assert minutes("hits") == {M0: 5 + 2}
    assert Hit.objects.count() == 8 + 4 + 2  # every hit is stored
    assert sum(c.hits for c in ActiveCell.objects.all()) == 7
    assert dict(DeviceDay.objects.values_list("device_id", "hits")) == {flooder.id: 5, honest.id: 2}


def placed(
    times: list[int], lats: list[float], lon: float = 6.1, first_seq: int = 1
) -> dict[str, list[Any]]:
    return {**hits_at(times, first_seq), "lat": lats, "lon": [lon] * len(times)}


def test_a_phone_lights_at_most_the_cap_of_cells_an_hour_and_its_hits_still_count(settings):
    settings.CROWDRAY_MAX_CELLS_PER_HOUR = 3
    wanderer, _ = make_device()
    honest, _ = make_device()
    # 6 cells 5 km apart in one minute, southwards: the first reached are not the first sorted
    lats = [46.25 - 0.05 * k for k in range(6)]
    insert_hits(wanderer.id, placed([T0 + k * NS_PER_S for k in range(6)], lats, first_seq=0))
    catch_up(Counters())
    # Later in the same hour: a cell it lit already, and a new one.
    insert_hits(wanderer.id, placed([T0 + 100 * NS_PER_S] * 2, [46.25, 47.0], first_seq=100))
    insert_hits(honest.id, placed([T0 + 5 * NS_PER_S], [-16.8], lon=179.9))
    catch_up(Counters())
    lit = dict(ActiveCell.objects.values_list("cell", "hits"))
    assert lit == {
        cell_of(46.25, 6.1)[0]: 2,
        cell_of(46.2, 6.1)[0]: 1,
        cell_of(46.15, 6.1)[0]: 1,
        cell_of(-16.8, 179.9)[0]: 1,
    }
    assert minutes("hits") == {M0: 6 + 1, M0 + 1: 2}  # every hit counts; only the map is capped
    # The next hour the phone may light new cells again.
    insert_hits(wanderer.id, placed([T0 + 3600 * NS_PER_S], [48.0], first_seq=200))
    catch_up(Counters())
    assert cell_of(48.0, 6.1)[0] in dict(ActiveCell.objects.values_list("cell", "hits"))
