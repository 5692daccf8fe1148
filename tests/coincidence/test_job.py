"""The Spark job: partition edges, agreement with the reference, invariances."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from coincidence.cores import hood_columns, lam_columns
from coincidence.links import connected_components, seed_members
from coincidence.neighbours import device_neighbourhoods
from coincidence.params import Params
from coincidence.reference import device_neighbourhoods as reference_neighbourhoods
from coincidence.reference import device_table, span_seconds
from tests.coincidence.factories import MS, T0, background, hits, network, offset, showers, with_ids
from vocab.contracts import HIT_COLUMNS

SCHEMA = "hit_id long, device_id string, t_ns long, lat double, lon double"
PLACES = {
    "geneva": [(46.2044, 6.1432), (46.25, 6.2)],
    "antimeridian": [(-16.5, 179.995), (-16.52, -179.99)],
    "south pole": [(-89.995, 0.0)],
    "arctic": [(80.0, 20.0), (80.02, 20.2)],
}


def simulated(seed: int, centres, rate_hz=0.02, span_s=1800, n_showers=20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    net = network(rng, centres, per_group=40, spread_m=700)
    shower_hits, _ = showers(rng, net, n_showers, span_s)
    df = pd.concat([background(rng, net, rate_hz, span_s), shower_hits.drop(columns="shower")])
    return with_ids(df, rng)


def reference_devices(data: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The reference's device table (n, lat, lon, live_s) of a hit table."""
    span = span_seconds(int(data.t_ns.min()), int(data.t_ns.max()), params)
    return device_table(data, span)


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    out = df.sort_values("shower_id").reset_index(drop=True)
    out["hit_ids"] = out["hit_ids"].map(list)
    out["device_ids"] = out["device_ids"].map(list)
    return out


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = comparable(a), comparable(b)
    exact = ["shower_id", "t_ns", "t_spread_ns", "n_devices", "n_hits", "hit_ids", "device_ids"]
    pd.testing.assert_frame_equal(a[exact], b[exact])
    close = ["lat", "lon", "radius_m", "expected_background", "significance_sigma"]
    pd.testing.assert_frame_equal(a[close], b[close], rtol=1e-7, atol=1e-6)


@pytest.fixture
def many_partitions(spark):
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", "1")


@pytest.mark.parametrize("place", list(PLACES))
def test_spark_and_the_reference_find_identical_candidates(spark_job, reference, place):
    data = simulated(seed=len(place), centres=PLACES[place])
    found = spark_job(data, Params())
    assert len(found) >= 10  # enough candidates for the comparison to mean something
    assert_same(found, reference(data, Params()))


def test_seed_groups_that_cross_partitions_are_merged(spark, spark_job, reference, many_partitions):
    # Tiny cells and buckets: many crossings. Every core counts, so the chain's show.
    params = Params(cell_m=2000, bucket_s=1, max_expected=math.inf)
    # A 4 km line of phones firing over 300 ms: one seed group across many partitions.
    rows = [
        (f"d{k}", T0 + 900 * MS + k * 10 * MS, *offset(46.2, 6.14, 0, 140 * k)) for k in range(30)
    ]
    chain = hits(rows)
    members = seed_members(spark.createDataFrame(chain, SCHEMA), params).toPandas()
    assert len(members) == 30 and (members.label == members.label.min()).all()
    cores = spark_job(chain, params)
    assert len(cores) >= 2  # a 4 km chain holds several compact cores, not one candidate
    assert_same(cores, reference(chain, params))
    # Five minutes are 300 one-second buckets: crossings enough (30 min took ~2 min of tiles).
    data = simulated(seed=9, centres=PLACES["geneva"], rate_hz=0.05, span_s=300)
    found = spark_job(data, params)
    assert len(found) >= 10
    assert_same(found, reference(data, params))


def test_neighbourhood_sums_are_the_references_to_the_bit_across_tiles(spark):
    # Tiles of 1.2 km under towns 1.4 km across: most discs reach into other tiles.
    params = Params(cell_m=1200)
    centres = PLACES["geneva"] + PLACES["antimeridian"] + PLACES["south pole"]
    data = simulated(seed=4, centres=centres)
    frame = reference_devices(data, params)
    spark_devices = spark.createDataFrame(frame.reset_index(names="device_id"))
    got = device_neighbourhoods(spark_devices, params).toPandas().set_index("device_id")
    want = reference_neighbourhoods(frame, params)
    columns = [*lam_columns(params), *hood_columns(params)]
    assert len(got) == len(want)
    assert (got.loc[want.index, columns].to_numpy() == want[columns].to_numpy()).all()


def test_connected_components_label_every_vertex_with_its_smallest_member(spark):
    chain = [(k, k + 1) for k in range(10, 40)]  # a path 10-11-...-40
    other = [(5, 7), (7, 6)]
    edges = spark.createDataFrame(chain + other, "src long, dst long")
    labels: dict[int, int] = dict(connected_components(edges).toPandas().itertuples(index=False))
    assert {v: labels[v] for v in (10, 25, 40)} == {10: 10, 25: 10, 40: 10}
    assert {v: labels[v] for v in (5, 6, 7)} == {5: 5, 6: 5, 7: 5}


def test_row_order_time_shifts_and_rotation_across_the_antimeridian_change_nothing(spark_job):
    data = simulated(seed=5, centres=[(10.0, 179.7)])
    base = comparable(spark_job(data, Params()))
    assert len(base) >= 15
    shuffled = data.sample(frac=1.0, random_state=1)
    assert_same(spark_job(shuffled, Params()), base)
    shift = 86_400 * 10**9 * 3 + 12_345
    moved = comparable(spark_job(data.assign(t_ns=data.t_ns + shift), Params()))
    assert list(moved.t_ns - shift) == list(base.t_ns)
    rotated = data.assign(lon=(data.lon + 0.3 + 180) % 360 - 180)  # centred on 180°
    assert (rotated.lon < -179.99).any() and (rotated.lon > 179.99).any()
    turned = comparable(spark_job(rotated, Params()))
    assert list(turned.hit_ids) == list(base.hit_ids)
    assert np.allclose(turned.radius_m, base.radius_m, atol=1e-3)


def test_spark_and_the_reference_fit_identical_cores_and_energies(spark, tmp_path):
    from coincidence.job import transform
    from coincidence.reference import find_showers
    from simulator.scenarios import simulate_town

    town = simulate_town(tmp_path, seed=3, per_km2=500, side_km=2, hours=0.25, showers_per_hour=120)
    blocks = town.exposures[["device_id", "start_ns", "end_ns", "lat", "lon"]]
    frame = spark.createDataFrame(town.hits[list(HIT_COLUMNS)], SCHEMA)
    got = transform(frame, Params(), spark.createDataFrame(blocks)).toPandas()
    expected = find_showers(town.hits, Params(), town.exposures)
    assert len(got) >= 15 and expected["core_lat"].notna().sum() >= 15
    assert_same(got, expected)
    a, b = comparable(got), comparable(expected)
    fitted = ["core_lat", "core_lon", "core_err_m", "log10_energy_ev", "log10_energy_err"]
    pd.testing.assert_frame_equal(a[fitted], b[fitted], rtol=1e-7, atol=1e-9)
    assert a.n_silent.fillna(-1).tolist() == b.n_silent.fillna(-1).tolist()


def test_a_live_phone_with_a_hit_within_one_window_and_in_reach_fired_in_both_fits(spark):
    """Not a member, but a hit W before or after the shower: fired. W + 1 ns: silent.

    A hit in the window counts up to hit_reach_m (1,500 m) from the centroid,
    wherever the phone's block puts it: beyond, it is not the shower's.
    """
    from coincidence import reference, spark_fit

    params = Params()
    w, t = params.window_ns, T0 + 10**12
    lat, lon = 46.2, 6.14
    showers = pd.DataFrame(
        {"shower_id": ["S1"], "t_ns": [t], "lat": [lat], "lon": [lon], "hit_ids": [[1]]}
    )
    # device: (hit's time from the shower's, hit's metres north, block's metres north)
    phones = {
        "member": (0, 0, 0),
        "early": (-w, 0, 0),
        "late": (w, 0, 0),
        "too_early": (-w - 1, 0, 0),
        "too_late": (w + 1, 0, 0),
        "hit_in_reach": (0, 1_450, 400),
        "hit_out_of_reach": (0, 1_550, 400),
        "moved_away": (0, 20_000, 0),
    }
    dt, hit_north, block_north = (np.array(v) for v in zip(*phones.values(), strict=True))
    hit_rows = pd.DataFrame(
        {
            "hit_id": range(1, len(phones) + 1),
            "device_id": list(phones),
            "t_ns": t + dt,
            "lat": [offset(lat, lon, float(m), 0.0)[0] for m in hit_north],
            "lon": lon,
        }
    )
    blocks = pd.DataFrame(
        {
            "device_id": list(phones),
            "start_ns": t - 10**12,
            "end_ns": t + 10**12,
            "lat": [offset(lat, lon, float(m), 0.0)[0] for m in block_north],
            "lon": lon,
        }
    )
    rate = pd.Series(0.01, index=list(phones))
    ref = reference.fit_input(showers, hit_rows, blocks, rate, params)
    got = spark_fit.fit_input(
        spark.createDataFrame(showers),
        spark.createDataFrame(hit_rows, SCHEMA),
        spark.createDataFrame(rate.rename("rate").rename_axis("device_id").reset_index()),
        spark.createDataFrame(blocks),
        params,
    ).toPandas()
    for rows in (ref, got):
        fired = set(rows.loc[rows["fired"], "device_id"])
        assert fired == {"member", "early", "late", "hit_in_reach"}
        assert set(rows["device_id"]) == set(phones)  # every block is within the fit radius
    key = ["device_id", "fired"]
    pd.testing.assert_frame_equal(
        ref.sort_values(key).reset_index(drop=True)[ref.columns],
        got.sort_values(key).reset_index(drop=True)[ref.columns],
        check_dtype=False,
    )
