"""The live search split by longitude (follow.regions): n parts find exactly what one finds."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pytest

from follow.live import LiveSearch
from follow.regions import Part, meridian_distance_m
from follow.tail import catch_up
from ingest.models import Shower
from ingest.store import insert_exposures, insert_hits
from tests.coincidence.factories import MS, T0, S, background, network, showers
from tests.factories import make_device

SPAN_S = 600.0
# Towns on the borders of 2 parts (0, the antimeridian) and of 3 (-60, 60), one at the pole.
CENTRES = [(46.2, 0.0), (-16.8, 179.9995), (10.0, 60.0), (-20.0, -60.0), (89.98, 0.0)]
CHAIN_PHONES, CHAIN_STEP_DEG = 150, 0.007  # 780 m apart: each links to the next


def test_parts_parse_and_refuse_what_is_not_k_of_n():
    assert Part.parse("2/3") == Part(2, 3)
    for bad in ("0/3", "4/3", "two/3", "1", "1/361"):
        with pytest.raises(ValueError, match=bad):
            Part.parse(bad)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_every_longitude_has_exactly_one_owner(n):
    lon = np.r_[np.linspace(-180, 180, 3601), -180.0, 180.0, 0.0, np.nextafter(0.0, -1)]
    owners = np.sum([Part(k, n).owns(lon) for k in range(1, n + 1)], axis=0)
    assert (owners == 1).all()


def test_a_band_with_its_margin_wraps_over_the_antimeridian():
    assert Part(1, 2).searched(0.5) == [(179.5, 180.0), (-180.0, 0.5)]
    assert Part(2, 2).searched(0.5) == [(-0.5, 180.0), (-180.0, -179.5)]
    assert Part(1, 2).searched(90.0) is None  # the whole globe
    assert Part(1, 1).searched(0.5) is None


def test_distance_to_a_meridian_is_measured_on_the_sphere():
    one_deg = meridian_distance_m(np.array([0.0, 60.0]), np.array([1.0, 1.0]), 0.0)
    assert one_deg[0] == pytest.approx(111_195, rel=1e-3)
    assert one_deg[1] == pytest.approx(111_195 / 2, rel=1e-3)  # cos 60
    # Beyond 90 degrees of longitude the nearest point of the half circle is the pole.
    assert meridian_distance_m(np.array([89.99]), np.array([180.0]), 0.0)[0] == pytest.approx(
        1112, rel=1e-2
    )
    assert meridian_distance_m(np.array([10.0]), np.array([-179.9]), 179.9)[0] == pytest.approx(
        0.2 * 111_195 * np.cos(np.radians(10.0)), rel=1e-3
    )


def chain(t_ns: int) -> pd.DataFrame:
    """Phones along the equator west from the border at 0 deg, hits 20 ms apart in turn.

    Linked one to the next, they make one seed group 1.05 deg long with the
    shower at its east end: its owner must search far past its first margin.
    """
    lon = 0.004 - CHAIN_STEP_DEG * np.arange(CHAIN_PHONES)
    return pd.DataFrame(
        {
            "device_id": [f"chain-{k}" for k in range(CHAIN_PHONES)],
            "t_ns": t_ns + 20 * MS * (1 + np.arange(CHAIN_PHONES)),
            "lat": 0.0,
            "lon": lon,
            "shower": -1,
        }
    )


def network_hits(seed: int = 11) -> pd.DataFrame:
    """Towns with background and showers, a shower at the equator's border, and its chain."""
    rng = np.random.default_rng(seed)
    net = network(rng, CENTRES, per_group=25, spread_m=300.0)
    noise = background(rng, net, 2 / 60, SPAN_S).assign(shower=-1)
    found, _ = showers(rng, net, 15, SPAN_S)
    t_edge = T0 + 300 * S
    edge = pd.DataFrame(  # a shower of 8 phones 100-450 m east of the border
        {
            "device_id": [f"edge-{k}" for k in range(8)],
            "t_ns": t_edge + MS * rng.integers(0, 5, 8),
            "lat": rng.uniform(-0.002, 0.002, 8),
            "lon": rng.uniform(0.001, 0.004, 8),
            "shower": 99,
        }
    )
    return pd.concat([noise, found, edge, chain(t_edge)], ignore_index=True)


def store(hits: pd.DataFrame) -> None:
    """Each phone registered, live for the whole span at its place, its hits uploaded."""
    for name, mine in hits.groupby("device_id"):
        device = make_device()[0]
        first = mine.iloc[0]
        block: dict[str, list[Any]] = {
            "block_id": [uuid.uuid4()],
            "start_ns": [T0],
            "end_ns": [T0 + int(SPAN_S * S)],
            "lat": [float(first["lat"])],
            "lon": [float(first["lon"])],
        }
        insert_exposures(device.id, block)
        seq = (mine["t_ns"] - T0).tolist()
        columns = {c: mine[c].tolist() for c in ("t_ns", "lat", "lon")}
        insert_hits(device.id, {"seq": seq, **columns})
        assert name  # every phone has a name


def found_by(parts: list[Part]) -> dict[str, tuple[frozenset[int], float]]:
    """Each shower the parts leave on the dashboard: its hits and significance."""
    Shower.objects.all().delete()
    for part in parts:
        catch_up(LiveSearch(min_sigma=5.0, part=part))
    return {
        s.shower_id: (frozenset(s.hits.values_list("id", flat=True)), s.significance_sigma)
        for s in Shower.objects.filter(provisional=True)
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_and_three_parts_find_exactly_the_showers_one_finds(caplog):
    store(network_hits())
    caplog.set_level(logging.INFO, logger="follow.live")
    whole = found_by([Part()])
    assert len(whole) >= 10, "the showers were not found: the test lost its point"
    lons = dict(Shower.objects.values_list("shower_id", "lon"))
    assert any(abs(lon) < 0.01 for lon in lons.values())  # on the border at 0
    assert any(abs(lon) > 179.99 for lon in lons.values())  # on the antimeridian
    assert any(abs(abs(lon) - 60) < 0.01 for lon in lons.values())  # on the borders of 3
    assert any(lat > 89.9 for lat in Shower.objects.values_list("lat", flat=True))  # the pole
    for n in (2, 3):
        caplog.clear()
        assert found_by([Part(k, n) for k in range(1, n + 1)]) == whole
        # The chain crosses the border at 0 of 2 parts, so its shower's owner searched wider.
        widened = any("live:2/2: a candidate depends" in r.getMessage() for r in caplog.records)
        assert widened == (n == 2)
