"""The candidate definition at every edge, through the reference and the Spark job alike.

Definition (coincidence/__init__.py): a candidate grows from a compact core, the
most significant cylinder (one window after an anchor hit, one disc around it)
with >= min_devices distinct devices, to the whole shower: the hits that fit in
one window with the core and lie within radius_m of its centroid.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from coincidence.geo import CellGrid, haversine_m
from coincidence.params import Params
from tests.coincidence.factories import MS, T0, S, hits, offset

GENEVA = (46.2044, 6.1432)
# Every core is a candidate here: these tests are about the definition, not significance.
# The hour analysed around T0 gives each phone a realistic rate (one hit an hour).
P = Params(
    window_ms=50,
    radius_m=1000,
    min_devices=3,
    max_expected=math.inf,
    since_ns=T0 - 1800 * S,
    until_ns=T0 + 1800 * S,
)


def ring(centre: tuple[float, float], n: int, radius_m: float, t0: int = T0, dt: int = MS):
    """N devices on a circle of radius_m around centre, firing dt apart."""
    rows = []
    for k in range(n):
        angle = 2 * np.pi * k / n
        lat, lon = offset(*centre, radius_m * np.cos(angle), radius_m * np.sin(angle))
        rows.append((f"dev{k}", t0 + k * dt, lat, lon))
    return rows


def test_a_shower_of_five_devices_is_one_candidate(find):
    out = find(hits(ring(GENEVA, 5, 200)), P)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.n_devices, row.n_hits) == (5, 5)
    assert row.shower_id == "S1"
    assert list(row.hit_ids) == [1, 2, 3, 4, 5]
    assert list(row.device_ids) == ["dev0", "dev1", "dev2", "dev3", "dev4"]
    assert row.t_ns == T0 + 2 * MS and row.t_spread_ns == 4 * MS
    assert haversine_m(row.lat, row.lon, GENEVA[0], GENEVA[1]) < 1.0
    assert abs(row.radius_m - 200) < 1.0


def test_fewer_devices_than_the_minimum_is_no_candidate(find):
    assert find(hits(ring(GENEVA, 2, 200)), P).empty
    assert len(find(hits(ring(GENEVA, 2, 200)), replace(P, min_devices=2))) == 1


def test_a_device_firing_twice_in_the_window_counts_once(find):
    rows = [*ring(GENEVA, 2, 50), ("dev0", T0 + 10 * MS, *GENEVA)]
    assert find(hits(rows), P).empty
    rows.append(("dev2", T0 + 20 * MS, *GENEVA))
    out = find(hits(rows), P)
    assert (out.iloc[0].n_devices, out.iloc[0].n_hits) == (3, 4)


def test_the_window_is_inclusive_to_the_nanosecond(find):
    at_window = hits(
        [("a", T0, *GENEVA), ("b", T0 + 25 * MS, *GENEVA), ("c", T0 + 50 * MS, *GENEVA)]
    )
    assert len(find(at_window, P)) == 1
    beyond = at_window.assign(t_ns=[T0, T0 + 25 * MS, T0 + 50 * MS + 1])
    assert find(beyond, P).empty


def test_the_radius_is_a_great_circle_distance(find):
    inside = [
        ("a", T0, *GENEVA),
        ("b", T0, *offset(*GENEVA, 0, 990)),
        ("c", T0, *offset(*GENEVA, 990, 0)),
    ]
    assert len(find(hits(inside), P)) == 1
    outside = [
        ("a", T0, *GENEVA),
        ("b", T0, *offset(*GENEVA, 0, 1010)),
        ("c", T0, *offset(*GENEVA, 0, 2020)),
    ]
    assert find(hits(outside), P).empty


def test_a_chain_longer_than_one_window_and_disc_is_no_candidate(find):
    # a-b and b-c are linked, a-c is not (1.6 km, 80 ms apart): one seed group, no core.
    rows = [
        ("a", T0, *GENEVA),
        ("b", T0 + 40 * MS, *offset(*GENEVA, 0, 800)),
        ("c", T0 + 80 * MS, *offset(*GENEVA, 0, 1600)),
    ]
    assert find(hits(rows), P).empty
    assert len(find(hits(rows), replace(P, min_devices=2))) == 1


def test_a_shower_a_minute_later_is_a_separate_candidate(find):
    rows = ring(GENEVA, 4, 300) + ring(GENEVA, 4, 300, t0=T0 + 60 * S)
    out = find(hits(rows), P)
    assert sorted(out.n_hits) == [4, 4]
    assert sorted(out.shower_id) == ["S1", "S5"]


def test_a_shower_across_the_antimeridian_is_one_candidate(find):
    rows = ring((-16.5, 179.9995), 6, 300)  # Fiji; half the ring has lon < -179.99
    assert {np.sign(r[3]) for r in rows} == {-1.0, 1.0}
    out = find(hits(rows), P)
    assert len(out) == 1 and out.iloc[0].n_devices == 6
    assert abs(abs(out.iloc[0].lon) - 179.9995) < 1e-4
    assert out.iloc[0].radius_m < 301


def test_a_shower_at_the_pole_is_one_candidate(find):
    # Six phones 300 m from the South Pole, at longitudes all around the clock.
    rows = [(f"d{k}", T0 + k * MS, -90 + 300 / 111_195, -180.0 + 60 * k) for k in range(6)]
    out = find(hits(rows), P)
    assert len(out) == 1 and out.iloc[0].n_devices == 6
    assert out.iloc[0].lat < -89.99


def test_a_shower_straddling_a_spatial_cell_edge_is_one_candidate(find):
    grid = CellGrid(P.cell_m)
    edge_lat = -90 + grid.band_deg * grid.band(np.array([46.2]))[0]  # a band's southern edge
    rows = ring((edge_lat, 6.1432), 6, 300)
    assert len(set(grid.home(np.array([r[2] for r in rows]), np.array([r[3] for r in rows])))) > 1
    out = find(hits(rows), P)
    assert len(out) == 1 and out.iloc[0].n_devices == 6


def test_a_shower_straddling_a_time_bucket_edge_is_one_candidate(find):
    edge = (T0 // P.bucket_ns + 1) * P.bucket_ns
    rows = ring(GENEVA, 6, 300, t0=edge - 3 * MS)
    out = find(hits(rows), P)
    assert len(out) == 1 and out.iloc[0].n_devices == 6


def test_empty_input_gives_no_candidates_with_the_contract_columns(find):
    out = find(hits([]), P)
    assert out.empty
    assert "significance_sigma" in out.columns


def test_hits_outside_since_until_are_ignored(find):
    rows = ring(GENEVA, 3, 200)
    assert find(hits(rows), replace(P, since_ns=T0 + MS, until_ns=T0 + S)).empty
    assert len(find(hits(rows), replace(P, since_ns=T0, until_ns=T0 + 2 * MS + 1))) == 1


def test_hits_at_the_same_nanosecond_are_one_candidate_with_all_their_hits(find):
    # Millisecond clocks stamp many phones alike: ties are no special case.
    rows = [*ring(GENEVA, 6, 200, dt=0), ("dev0", T0, *GENEVA)]
    far = offset(*GENEVA, 50_000, 0)
    rows += [(f"far{k}", T0, *offset(*far, 30.0 * k, 0)) for k in range(4)]
    out = find(hits(rows), P).sort_values("n_devices").reset_index(drop=True)
    assert len(out) == 2
    assert list(out.n_devices) == [4, 6] and list(out.n_hits) == [4, 7]
    assert list(out.iloc[1].hit_ids) == list(range(1, 8))
    assert list(out.t_spread_ns) == [0, 0] and list(out.t_ns) == [T0, T0]


def test_a_flooding_phone_is_searched_for_its_first_hits_of_each_minute_only(find):
    # A broken phone beside a shower: 12 hits in the shower's window, listed latest first so
    # that the smallest hit ids (ids 6-17) are its latest hits, and 4 more a minute later.
    flood = [("flood", T0 + k * MS, *GENEVA) for k in range(11, -1, -1)]
    later = [("flood", T0 + 60 * S + k * MS, *GENEVA) for k in range(4)]
    data = hits(ring(GENEVA, 5, 200) + flood + later)
    capped = find(data, replace(P, max_hits_per_min=3))
    assert len(capped) == 1
    assert (capped.iloc[0].n_devices, capped.iloc[0].n_hits) == (6, 8)
    assert list(capped.iloc[0].hit_ids) == [1, 2, 3, 4, 5, 6, 7, 8]  # its first three by id
    whole = find(data, replace(P, max_hits_per_min=0))  # no cap: all twelve
    assert list(whole.iloc[0].hit_ids) == list(range(1, 18))


def busy_town(
    centre: tuple[float, float] = GENEVA, n: int = 3000, spread_m: float = 1500, name: str = "bg"
) -> list[tuple[str, int, float, float]]:
    """N phones around centre with one hit each in the hour, none within 2 s of T0.

    They give the search a realistic density (~330 per km^2) to weigh cores against.
    """
    rng = np.random.default_rng(8)
    t = rng.uniform(2, 1790, n) * rng.choice([-1, 1], n)
    north, east = rng.uniform(-spread_m, spread_m, (2, n))
    return [
        (f"{name}{k}", T0 + int(t[k] * S), *offset(*centre, north[k], east[k])) for k in range(n)
    ]


def test_a_phone_of_the_footprint_outside_the_compact_core_is_a_member(find):
    # Five phones within 60 m, and a sixth 900 m away in the same window: the core is the
    # five, the shower all six; the significance is the core's.
    rows = [*ring(GENEVA, 5, 60), ("far", T0 + 3 * MS, *offset(*GENEVA, 900, 0)), *busy_town()]
    out = find(hits(rows), P)
    assert len(out) == 1
    shower = out.iloc[0]
    assert (shower.n_devices, shower.n_hits, shower.n_core_devices, shower.n_core_hits) == (
        6,
        6,
        5,
        5,
    )
    assert "far" in list(shower.device_ids)
    alone = find(hits([*ring(GENEVA, 5, 60), *busy_town()]), P).iloc[0]
    # The far phone adds one hit to its neighbours' rates, nothing to the core.
    assert shower.significance_sigma == pytest.approx(alone.significance_sigma, rel=0.01)


def test_a_phone_of_the_footprint_linked_to_no_other_hit_is_a_member(find):
    # Two pairs of phones 960 m apart make the core (no disc of 500 m holds 3 of them);
    # "lone" fired 920 m north of its centroid, >= 1,020 m from each of the four: within
    # reach of the core, linked to no hit.
    core = [
        (f"c{k}", T0 + k * MS, *offset(*GENEVA, 20 * (-1) ** k, 480 * (-1) ** (k // 2)))
        for k in range(4)
    ]
    lone = ("lone", T0 + 2 * MS, *offset(*GENEVA, 920, 0))
    lone_lat, lone_lon = lone[2], lone[3]
    assert all(haversine_m(lone_lat, lone_lon, r[2], r[3]) > P.radius_m for r in core)
    out = find(hits([*core, lone, *busy_town()]), P)
    assert len(out) == 1
    shower = out.iloc[0]
    assert (shower.n_core_devices, shower.n_devices) == (4, 5)
    assert "lone" in list(shower.device_ids)


def test_a_hit_beyond_one_window_or_the_radius_from_the_core_is_not_a_member(find):
    # Core phones at 0-30 ms: a hit at 40 ms still fits one 50 ms window with them, hits at
    # -21 and 85 ms do not; a hit 1.1 km from the core's centroid is beyond radius_m.
    # Each is linked to a member, so all are in the seed group.
    spread = [(f"c{k}", T0 + 10 * k * MS, *offset(*GENEVA, 40 * k, 0)) for k in range(4)]
    rows = [
        *spread,
        ("late_ok", T0 + 40 * MS, *offset(*GENEVA, 300, 0)),
        ("late", T0 + 85 * MS, *offset(*GENEVA, 300, 0)),
        ("early", T0 - 21 * MS, *offset(*GENEVA, -700, 0)),
        ("far", T0 + 20 * MS, *offset(*GENEVA, 1250, 0)),
        *busy_town(),
    ]
    out = find(hits(rows), P)
    assert len(out) == 1
    members = set(out.iloc[0].device_ids)
    assert {"c0", "c1", "c2", "c3", "late_ok"} <= members
    assert not members & {"late", "early", "far"}


def test_a_seed_group_with_two_separate_cores_gives_two_candidates(find):
    # Two compact showers 3 km apart, chained into one seed group by phones between them.
    east = offset(*GENEVA, 0, 3000)
    chain = [(f"link{k}", T0 + 2 * MS, *offset(*GENEVA, 0, 600 * k)) for k in range(1, 5)]
    rows = [*ring(GENEVA, 5, 60), *ring(east, 5, 60, t0=T0 + MS), *chain]
    rows = [(f"{r[0]}-{i // 5}" if i < 10 else r[0], *r[1:]) for i, r in enumerate(rows)]
    town = [*busy_town(), *busy_town(east, name="bg-east")]
    out = find(hits([*rows, *town]), replace(P, min_devices=4))
    assert sorted(out.n_core_devices) == [5, 5]
    # The phones 600 m from either core are in its footprint; those 1.2 km from both in none.
    assert sorted(out.n_devices) == [6, 6]
    members = [d for devices in out.device_ids for d in devices]
    assert members.count("link1") == 1
    assert not {"link2", "link3"} & set(members)


def test_one_wide_shower_is_never_split(find):
    # 40 phones up to 700 m from the core: one candidate, however its cylinders fall.
    rng = np.random.default_rng(3)
    rows = []
    for k in range(40):
        north, east = rng.uniform(-500, 500, 2)
        rows.append((f"d{k}", T0 + int(rng.integers(0, 30)) * MS, *offset(*GENEVA, north, east)))
    out = find(hits(rows), P)
    assert len(out) == 1
    assert out.iloc[0].n_devices == 40  # the whole shower, whatever its core
    assert out.iloc[0].t_spread_ns <= P.window_ns  # a shower never spans more than one window
