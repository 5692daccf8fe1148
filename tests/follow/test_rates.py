"""The live search's rates kept as hits and blocks arrive equal the rates counted afresh."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from follow.rates import KEEP_S, LiveRates
from vocab.units import NS_PER_MIN, NS_PER_S

S = NS_PER_S
T0 = 1_790_000_000 * S + 7 * S  # not on a minute
CAP = 5
WINDOW_S = 600.0


@dataclass
class Data:
    hits: pd.DataFrame  # device_id, t_ns, lat, lon
    blocks: pd.DataFrame  # device_id, start_ns, end_ns, lat, lon


def data(seed: int = 3) -> Data:
    """20 phones over 40 minutes; one floods a minute; two sit on the antimeridian.

    Blocks overlap, and one phone has none.
    """
    rng = np.random.default_rng(seed)
    names = [f"phone-{k:02d}" for k in range(20)]
    lat = rng.uniform(-60, 60, 20)
    lon = rng.uniform(-180, 180, 20)
    lon[:2] = [179.9999, -179.9999]
    n = rng.poisson(40, 20)
    device = np.repeat(np.arange(20), n)
    t = T0 + rng.integers(0, 40 * 60 * S, len(device))
    flood = np.full(100, 3)
    device = np.r_[device, flood]
    t = np.r_[t, T0 + 20 * 60 * S + rng.integers(0, 30 * S, 100)]
    hits = pd.DataFrame(
        {
            "device_id": [names[d] for d in device],
            "t_ns": t,
            "lat": lat[device] + rng.normal(0, 1e-4, len(device)),
            "lon": lon[device],
        }
    )
    starts = T0 + rng.integers(-5 * 60 * S, 40 * 60 * S, 60)
    owner = rng.integers(1, 20, 60)  # phone 0 has no blocks: live all the window
    blocks = pd.DataFrame(
        {
            "device_id": [names[d] for d in owner],
            "start_ns": starts,
            "end_ns": starts + rng.integers(1, 20 * 60 * S, 60),
            "lat": lat[owner],
            "lon": lon[owner],
        }
    )
    return Data(hits.sample(frac=1.0, random_state=seed).reset_index(drop=True), blocks)


def counted_afresh(d: Data, lo: int, hi: int) -> pd.DataFrame:
    """The definition, directly: per device, hits in [lo, hi) capped per minute, live time."""
    h = d.hits[(d.hits["t_ns"] >= lo) & (d.hits["t_ns"] < hi)]
    per_minute = h.groupby(["device_id", h["t_ns"] // NS_PER_MIN]).size().clip(upper=CAP)
    n = per_minute.groupby(level=0).sum()
    lat, lon = np.radians(h["lat"]), np.radians(h["lon"])
    vec = (
        pd.DataFrame(
            {
                "x": np.cos(lat) * np.cos(lon),
                "y": np.cos(lat) * np.sin(lon),
                "z": np.sin(lat),
                "device_id": h["device_id"],
            }
        )
        .groupby("device_id")[["x", "y", "z"]]
        .sum()
    )
    out = pd.DataFrame(
        {
            "n": n,
            "lat": np.degrees(np.arctan2(vec["z"], np.hypot(vec["x"], vec["y"]))),
            "lon": np.degrees(np.arctan2(vec["y"], vec["x"])),
        }
    )
    b = d.blocks
    overlap = (b["end_ns"].clip(upper=hi) - b["start_ns"].clip(lower=lo)).clip(lower=0)
    live = (overlap / S).groupby(b["device_id"]).sum()
    out["live_s"] = live.reindex(out.index).where(lambda s: s > 0).fillna((hi - lo) / S)
    return out.sort_index()


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.sort_index()
    assert list(got.index) == list(want.index)
    assert (got["n"].to_numpy() == want["n"].to_numpy()).all()
    # The minutes a window's ends cut keep unit vectors in float32: positions to ~0.1 m.
    np.testing.assert_allclose(got["lat"], want["lat"], atol=1e-6)
    lon_gap = (got["lon"] - want["lon"] + 180) % 360 - 180
    np.testing.assert_allclose(lon_gap, 0, atol=1e-6)
    np.testing.assert_allclose(got["live_s"], want["live_s"], rtol=1e-12)


def fed_in_pieces(d: Data, pieces: int, seed: int) -> LiveRates:
    rates = LiveRates(WINDOW_S, CAP, None)
    rng = np.random.default_rng(seed)
    for part in np.array_split(np.arange(len(d.blocks)), pieces):
        rates.add_blocks(d.blocks.iloc[part])
    for part in np.array_split(rng.permutation(len(d.hits)), pieces):
        h = d.hits.iloc[part]
        rates.add_hits(h["device_id"].tolist(), h["t_ns"].tolist(), h["lat"], h["lon"])
    return rates


@pytest.mark.parametrize("pieces", [1, 7, 50])
def test_rates_kept_piece_by_piece_equal_the_definition_for_any_window_end(pieces):
    d = data()
    rates = fed_in_pieces(d, pieces, seed=pieces)
    # Forward, back, across the flood, on minute boundaries and off them.
    ends = [T0 + 15 * 60 * S, T0 + 22 * 60 * S + 1, T0 + 41 * 60 * S, T0 + 12 * 60 * S]
    ends += [(T0 // NS_PER_MIN + 30) * NS_PER_MIN]
    for hi in ends:
        lo, hi_ = rates.window(hi)
        assert (lo, hi_) == (hi - int(WINDOW_S) * S, hi)
        same(rates.rates(hi), counted_afresh(d, lo, hi))


def test_hits_arriving_between_passes_update_the_window_in_place():
    d = data(seed=4)
    early, late = d.hits.iloc[: len(d.hits) // 2], d.hits.iloc[len(d.hits) // 2 :]
    rates = LiveRates(WINDOW_S, CAP, None)
    rates.add_blocks(d.blocks)
    rates.add_hits(early["device_id"].tolist(), early["t_ns"].tolist(), early["lat"], early["lon"])
    hi = T0 + 25 * 60 * S
    same(rates.rates(hi), counted_afresh(Data(early, d.blocks), hi - 600 * S, hi))
    rates.add_hits(late["device_id"].tolist(), late["t_ns"].tolist(), late["lat"], late["lon"])
    same(rates.rates(hi), counted_afresh(d, hi - 600 * S, hi))


def test_a_phone_flooding_a_minute_counts_the_cap_there():
    d = data()
    rates = fed_in_pieces(d, 3, seed=1)
    hi = T0 + 21 * 60 * S
    table = rates.rates(hi)
    flood_minute = d.hits[(d.hits["device_id"] == "phone-03")]
    in_window = flood_minute[flood_minute["t_ns"].between(hi - 600 * S, hi - 1)]
    per_minute = in_window.groupby(in_window["t_ns"] // NS_PER_MIN).size()
    assert per_minute.max() > CAP  # the flood is inside the window
    assert table.loc["phone-03", "n"] == per_minute.clip(upper=CAP).sum()


def test_forgetting_the_past_keeps_the_recent_windows_and_moves_old_ones_to_the_oldest_held():
    d = data()
    rates = fed_in_pieces(d, 5, seed=2)
    assert rates.keep_from() == int(d.hits["t_ns"].max()) - int(WINDOW_S) * S - KEEP_S * S
    floor = T0 + 10 * 60 * S
    rates.forget_before(floor)
    held = floor // NS_PER_MIN * NS_PER_MIN
    assert rates.floor_ns == held
    recent = T0 + 35 * 60 * S
    same(rates.rates(recent), counted_afresh(d, recent - 600 * S, recent))
    # A stretch older than the floor takes the oldest window held.
    assert rates.window(T0) == (held, held + 600 * S)
    same(rates.rates(T0), counted_afresh(d, held, held + 600 * S))
    assert rates.blocks_between(held - S, held + S) is None
    held_blocks = rates.blocks_between(held, held + 600 * S)
    assert held_blocks is not None and len(held_blocks) > 0


def test_nothing_held_gives_an_empty_table():
    rates = LiveRates(WINDOW_S, CAP, None)
    assert rates.rates(T0).empty
    none = rates.blocks_between(T0, T0 + S)
    assert none is not None and none.empty
    assert rates.keep_from() is None
