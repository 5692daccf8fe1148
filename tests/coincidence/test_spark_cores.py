"""The cores in tiles: a split in space and time gives what one piece gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from coincidence import spark_cores
from coincidence.cores import (
    core_input,
    cylinders,
    eligible_cylinders,
    eligible_in_slices,
    hood_columns,
    lam_columns,
)
from coincidence.geo import CellGrid, haversine_m
from coincidence.job import device_rates, select_span
from coincidence.links import seed_members
from coincidence.neighbours import device_neighbourhoods
from coincidence.params import Params
from coincidence.spark_cores import by_key, device_key, eligible
from tests.coincidence.factories import MS, T0, S, background, network, offset, with_ids
from tests.coincidence.test_job import SCHEMA, assert_same
from vocab.contracts import HIT_COLUMNS

# Tiles of 2 km and 1 s: every shower below straddles cells and buckets.
SPLIT = Params(cell_m=2000, bucket_s=1)


def _corner(params: Params) -> tuple[float, float]:
    """A point where cells of the split meet, near Geneva, off the default's borders."""
    grid = CellGrid(params.cell_m)
    band = int(np.ceil((46.2 + 90.0) / grid.band_deg))
    assert band % 10 != 0  # not also a border of the default 20 km cells
    n = int(grid.n_lon[band])
    return -90.0 + band * grid.band_deg, -180.0 + 360.0 * round((6.14 + 180.0) / 360.0 * n) / n


def town_with_border_showers(seed: int) -> tuple[pd.DataFrame, list[set[int]]]:
    """Phones around a corner of the split's cells; showers on it at whole seconds."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = _corner(SPLIT)
    net = network(rng, [(lat0, lon0)], per_group=120, spread_m=800)
    rows = [background(rng, net, 0.05, 60).assign(shower=-1)]
    for k in range(8):
        c_lat, c_lon = offset(lat0, lon0, *rng.normal(0, 150, 2))
        near = np.nonzero(haversine_m(c_lat, c_lon, net.lat, net.lon) <= 400.0)[0]
        t = T0 + (5 + 7 * k) * S + (rng.normal(0, 3, len(near)) * MS).astype(np.int64)
        rows.append(
            pd.DataFrame(
                {"device_id": net.device_id[near], "t_ns": t, "lat": net.lat[near]}
            ).assign(lon=net.lon[near], shower=k)
        )
    data = with_ids(pd.concat(rows, ignore_index=True), rng)
    truth = [set(g["hit_id"]) for k, g in data[data.shower >= 0].groupby("shower")]
    return data.drop(columns="shower"), truth


def test_showers_on_cell_and_bucket_borders_are_found_once_with_all_their_hits(
    spark_job, reference
):
    data, truth = town_with_border_showers(seed=5)
    grid = CellGrid(SPLIT.cell_m)
    for hit_ids in truth:  # each shower really is split across cells and buckets
        one = data[data.hit_id.isin(hit_ids)]
        assert len(set(grid.home(one.lat.to_numpy(), one.lon.to_numpy()).tolist())) >= 2
        assert one.t_ns.floordiv(SPLIT.bucket_ns).nunique() == 2
    split, whole = spark_job(data, SPLIT), spark_job(data, Params())
    assert_same(split, whole)
    assert_same(split, reference(data, SPLIT))
    for hit_ids in truth:
        holding = [set(h) for h in split["hit_ids"] if set(h) & hit_ids]
        assert len(holding) == 1 and hit_ids <= holding[0]


def test_the_tiles_give_every_eligible_cylinder_once_as_one_piece_does(spark):
    params = Params(cell_m=2000, bucket_s=1, max_expected=math.inf)
    data, _ = town_with_border_showers(seed=6)
    hits = select_span(spark.createDataFrame(data[list(HIT_COLUMNS)], SCHEMA), params)
    hoods = device_neighbourhoods(device_rates(hits, params, None), params)
    members = seed_members(hits, params).select(*HIT_COLUMNS)
    tiled = eligible(members, by_key(hoods, params), params).toPandas()
    whole = members.join(hoods, "device_id").select(*core_input(params)).toPandas()
    one = eligible_cylinders(cylinders(whole, params), params)
    assert len(one) > 100  # the showers' anchors, on the borders
    key = ["anchor", "q"]
    tiled, one = (df.sort_values(key).reset_index(drop=True) for df in (tiled, one))
    pd.testing.assert_frame_equal(
        tiled[[*key, "size", "reach_lo_ns", "reach_hi_ns"]],
        one[[*key, "size", "reach_lo_ns", "reach_hi_ns"]],
    )
    for column in ("members", "touch"):
        assert [sorted(m) for m in tiled[column]] == [sorted(m) for m in one[column]]


def _hoods(spark: SparkSession, seed: int, params: Params) -> tuple[DataFrame, DataFrame]:
    data, _ = town_with_border_showers(seed)
    hits = select_span(spark.createDataFrame(data[list(HIT_COLUMNS)], SCHEMA), params)
    return hits, device_neighbourhoods(device_rates(hits, params, None), params)


def test_the_neighbourhood_table_gives_each_phone_its_own_sums_by_its_key(spark):
    params = Params()
    _, hoods = _hoods(spark, 7, params)
    table = by_key(hoods, params)
    assert table.salt == 0
    keys, sums = table.table.value
    keyed = hoods.select("device_id", device_key(0).alias("key")).toPandas()
    row = np.searchsorted(keys, keyed.key.to_numpy())
    assert sorted(row.tolist()) == list(range(len(keyed)))  # one row each, none shared
    columns = [*lam_columns(params), *hood_columns(params)]
    expected = hoods.toPandas().set_index("device_id").loc[keyed.device_id, columns]
    np.testing.assert_array_equal(sums[row], expected.to_numpy())


def test_devices_sharing_a_key_are_told_apart_under_the_next_seed(spark, monkeypatch):
    params = Params(cell_m=2000, bucket_s=1, max_expected=math.inf)
    hits, hoods = _hoods(spark, 6, params)
    members = hits.select(*HIT_COLUMNS)
    distinct = eligible(members, by_key(hoods, params), params).toPandas()
    seeded = spark_cores.device_key
    # Under seed 0 every device has the same key.
    monkeypatch.setattr(
        spark_cores, "device_key", lambda salt: F.lit(7).cast("long") if salt == 0 else seeded(salt)
    )
    table = by_key(hoods, params)
    assert table.salt == 1
    shared = eligible(members, table, params).toPandas()
    pd.testing.assert_frame_equal(_sorted_cylinders(shared), _sorted_cylinders(distinct))


def _sorted_cylinders(df: pd.DataFrame) -> pd.DataFrame:
    out = df.sort_values(["anchor", "q"]).reset_index(drop=True)
    for column in ("members", "touch"):
        out[column] = [sorted(m.tolist()) for m in out[column]]
    return out


def test_time_slices_give_the_eligible_cylinders_of_the_whole_tile():
    params = Params(max_expected=math.inf)
    data, _ = town_with_border_showers(seed=8)
    # Times on a 5 ms grid: many hits share a nanosecond, on slice borders too.
    data = data.assign(t_ns=data.t_ns // (5 * MS) * (5 * MS))
    rng = np.random.default_rng(8)
    members = data.assign(
        **{c: rng.uniform(0.01, 2.0, len(data)) for c in lam_columns(params)},
        **{c: rng.uniform(10.0, 1e4, len(data)) for c in hood_columns(params)},
    )[core_input(params)]
    only = rng.random(len(members)) < 0.8  # a tile's home hits
    cyl = cylinders(members.assign(only=only), params)
    whole = eligible_cylinders(cyl, params, only=cyl.hits["only"].to_numpy(bool))
    sliced = eligible_in_slices(members, params, only, rows=20)
    assert len(members) > 20 * 20 and len(whole) > 100
    pd.testing.assert_frame_equal(_sorted_cylinders(sliced), _sorted_cylinders(whole))
