"""Compact cores and whole showers: shared, unchanged, by the Spark job and the reference.

Every hit a anchors a cylinder per scanned radius r: the hits b linked to it with
t_a <= t_b <= t_a + W (in the order of (t_ns, hit_id)) within r of it. Each
cylinder with at least min_devices devices gets its expected_background
(coincidence.background). Cores are taken greedily, most significant first
(ties: more devices, smaller radius, smaller anchor hit_id). A cylinder is
refused when one of its hits is a hit of a core already taken or linked to that
core's anchor, so one shower is never split into two candidates, while two
showers far apart give two. A core is a candidate when its expected_background
is at most max_expected. Its members are its cylinder's hits and the rest of its
footprint (coincidence.footprint). A core's priority is its place in that order.

Only linked hits are compared, so a cylinder never reaches past its anchor's
seed group, and the greedy choice over all cylinders at once is the choice made
group by group: no seed groups need to be known.

The steps (eligible_cylinders, take_cores, claim_footprints, core_summaries) run
here in one process (find_cores, the reference) and, tile by tile, in
coincidence.spark_cores: the same functions on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.background import expected_chance, significance_sigma
from coincidence.candidates import empty_showers, summarize, with_contract_types
from coincidence.footprint import claim_footprints, time_reach
from coincidence.geo import from_unit, to_unit
from coincidence.params import Params
from coincidence.sweep import linked_pairs
from vocab.contracts import HIT_COLUMNS, RECONSTRUCTION

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def lam_columns(params: Params) -> list[str]:
    """Per-hit columns holding Lambda_d(r) of its device, one per scanned radius."""
    return [f"lam_{q}" for q in range(len(params.radii_m))]


def hood_columns(params: Params) -> list[str]:
    """Per-hit columns holding H_d(r) of its device, one per scanned radius."""
    return [f"hood_{q}" for q in range(len(params.radii_m))]


def core_input(params: Params) -> list[str]:
    """The columns find_cores needs: the hit and its device's neighbourhood."""
    return [
        "hit_id",
        "device_id",
        "t_ns",
        "lat",
        "lon",
        *lam_columns(params),
        *hood_columns(params),
    ]


def _cylinder_sizes(dev: Ints, i: Ints, j: Ints, dist: Floats, radii: tuple[float, ...]) -> Ints:
    """Distinct devices in each hit's cylinder at each radius, shape (hits, radii).

    The anchor's own device, plus each other device linked after it, counted at
    the distance of its nearest such hit.
    """
    n = len(dev)
    other = dev[j] != dev[i]
    anchor = i[other]
    pair = anchor * (int(dev.max(initial=0)) + 1) + dev[j[other]]
    order = np.argsort(pair, kind="stable")
    pair, anchor, near = pair[order], anchor[order], dist[other][order]
    starts = np.flatnonzero(np.diff(pair, prepend=-1))
    nearest = np.minimum.reduceat(near, starts) if len(starts) else near
    anchor = anchor[starts]
    sizes = np.ones((n, len(radii)), dtype=np.int64)
    for q, radius in enumerate(radii):
        sizes[:, q] += np.bincount(anchor[nearest <= radius], minlength=n)
    return sizes


@dataclass(frozen=True)
class Cylinders:
    """Every hit's cylinders.

    hits: sorted by (t_ns, hit_id); pairs: linked (i before j) with their
    distances; sizes: distinct devices per hit (anchor) and scanned radius.
    """

    hits: pd.DataFrame
    pairs: tuple[Ints, Ints, Floats]
    sizes: Ints


def by_time(hits: pd.DataFrame) -> pd.DataFrame:
    """The hits sorted by (t_ns, hit_id), indexed 0..n-1.

    By NumPy and one take: pandas' sort_values on the two keys took 2.6x as long
    on a 2.3 M-hit tile (1.9 s against 0.7 s).
    """
    order = np.lexsort((hits["hit_id"].to_numpy(np.int64), hits["t_ns"].to_numpy(np.int64)))
    return hits.take(order).reset_index(drop=True)


def cylinders(members: pd.DataFrame, params: Params) -> Cylinders:
    """The cylinders of these hits (hit_id, device_id, t_ns, lat, lon), with all their links."""
    df = by_time(members)
    i, j, dist = linked_pairs(
        np.zeros(len(df), dtype=np.int64),
        df["t_ns"].to_numpy(np.int64),
        df["lat"].to_numpy(np.float64),
        df["lon"].to_numpy(np.float64),
        params.window_ns,
        params.radius_m,
    )
    dev = pd.factorize(df["device_id"])[0].astype(np.int64)
    return Cylinders(df, (i, j, dist), _cylinder_sizes(dev, i, j, dist, params.radii_m))


ELIGIBLE = (
    "anchor long, q int, size long, expected double, rank double, "
    "reach_lo_ns long, reach_hi_ns long, c_lat double, c_lon double, "
    "members array<long>, touch array<long>"
)


def eligible_cylinders(
    cyl: Cylinders, params: Params, only: npt.NDArray[np.bool_] | None = None
) -> pd.DataFrame:
    """The cylinders that may become cores (ELIGIBLE), with what the greedy choice needs.

    A cylinder is eligible with at least min_devices devices and an
    expected_background of at most max_expected. members: its hits' ids (the
    anchor first); touch: the anchor and every hit linked to it, which a core
    blocks for later cylinders; reach_lo_ns, reach_hi_ns, c_lat, c_lon: the times
    (coincidence.footprint.time_reach) and centroid of its footprint. only: the
    anchors considered (all by default).
    """
    df, sizes, radii = cyl.hits, cyl.sizes, params.radii_m
    lam = df[lam_columns(params)].to_numpy(np.float64)
    hood = df[hood_columns(params)].to_numpy(np.float64)
    expected = expected_chance(hood, lam, sizes, len(radii))
    ok = (sizes >= params.min_devices) & (expected <= params.max_expected)
    if only is not None:
        ok &= only[:, None]
    anchors, q = np.nonzero(ok)
    e = expected[anchors, q]
    ids = df["hit_id"].to_numpy(np.int64)
    members = _within(anchors, np.asarray(radii)[q], cyl.pairs)
    lat, lon, t = df["lat"].to_numpy(), df["lon"].to_numpy(), df["t_ns"].to_numpy(np.int64)
    c_lat, c_lon, last = _extent(members, lat, lon, t)
    reach_lo, reach_hi = time_reach(t[anchors], last, params)
    return pd.DataFrame(
        {
            "anchor": ids[anchors],
            "q": q.astype(np.int32),
            "size": sizes[anchors, q],
            "expected": e,
            # Rounded so that last-bit differences between implementations never reorder near-ties.
            "rank": np.round(np.log10(np.maximum(e, 1e-300)), 9),
            "reach_lo_ns": reach_lo,
            "reach_hi_ns": reach_hi,
            "c_lat": c_lat,
            "c_lon": c_lon,
            # Object columns even when empty, which Arrow turns into lists.
            "members": pd.Series([ids[m] for m in members], dtype=object),
            "touch": pd.Series(_touch(anchors, cyl.pairs, ids), dtype=object),
        }
    )


# Hits per slice of eligible_in_slices. Time against the whole tile (bench_tiles --rows):
# 0.60 at 5,000, 0.55 at 20,000, 0.50 at 50,000; larger slices hold more pairs at once.
SLICE_ROWS = 20_000


def eligible_in_slices(
    members: pd.DataFrame, params: Params, only: npt.NDArray[np.bool_], rows: int = SLICE_ROWS
) -> pd.DataFrame:
    """eligible_cylinders(cylinders(members), params, only), time slice by time slice.

    Each slice of about `rows` hits anchors its own cylinders, with the hits one
    window before and after it, so every cylinder and touch is whole. Arrays of
    that size stay in the CPU's caches: a tile of 2.3 M hits at 1,000 phones/km²
    takes about half the time in slices (bench/bench_tiles.py).
    """
    members = members.assign(only=only)
    if len(members) <= rows:  # one piece, sorted once: most tiles of a sparse network
        cyl = cylinders(members, params)
        return eligible_cylinders(cyl, params, only=cyl.hits["only"].to_numpy(bool))
    members = by_time(members)
    t = members["t_ns"].to_numpy(np.int64)
    starts = np.unique(t[::rows])
    lo = np.searchsorted(t, starts - params.window_ns, "left")
    hi = np.append(np.searchsorted(t, starts[1:] + params.window_ns, "right"), len(t))
    ends = np.append(starts[1:], np.iinfo(np.int64).max)
    parts = []
    for start, end, first, last in zip(starts, ends, lo, hi, strict=True):
        cyl = cylinders(members.iloc[first:last], params)
        at = cyl.hits["t_ns"].to_numpy(np.int64)
        mine = cyl.hits["only"].to_numpy(bool) & (at >= start) & (at < end)
        parts.append(eligible_cylinders(cyl, params, only=mine))
    return pd.concat(parts, ignore_index=True)


def _within(anchors: Ints, radius: Floats, pairs: tuple[Ints, Ints, Floats]) -> list[Ints]:
    """Rows of each (anchor, radius) cylinder: the anchor, then its later linked hits within it."""
    i, j, dist = pairs
    by_i = np.argsort(i, kind="stable")
    lo, hi = np.searchsorted(i[by_i], anchors), np.searchsorted(i[by_i], anchors + 1)
    out = []
    for a, r, s, e in zip(anchors.tolist(), radius.tolist(), lo.tolist(), hi.tolist(), strict=True):
        after = by_i[s:e]
        out.append(np.concatenate([[a], j[after][dist[after] <= r]]).astype(np.int64))
    return out


def _touch(anchors: Ints, pairs: tuple[Ints, Ints, Floats], ids: Ints) -> list[Ints]:
    """Hit ids of each anchor and of every hit linked to it, before or after."""
    i, j, _ = pairs
    ends = np.concatenate([i, j])
    other = np.concatenate([j, i])
    order = np.argsort(ends, kind="stable")
    ends, other = ends[order], other[order]
    lo, hi = np.searchsorted(ends, anchors), np.searchsorted(ends, anchors + 1)
    return [
        ids[np.concatenate([[a], other[s:e]]).astype(np.int64)]
        for a, s, e in zip(anchors.tolist(), lo.tolist(), hi.tolist(), strict=True)
    ]


def _extent(members: list[Ints], lat: Floats, lon: Floats, t: Ints) -> tuple[Floats, Floats, Ints]:
    """Each cylinder's centroid (unit-vector sum) and last time."""
    if not members:
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    rows = np.concatenate(members)
    starts = np.cumsum([0] + [len(m) for m in members[:-1]])
    x, y, z = to_unit(lat[rows], lon[rows])
    c_lat, c_lon = from_unit(*(np.add.reduceat(v, starts) for v in (x, y, z)))
    return c_lat, c_lon, np.maximum.reduceat(t[rows], starts)


CORES = ELIGIBLE + ", priority long"


def take_cores(eligible: pd.DataFrame) -> pd.DataFrame:
    """The cores (CORES), most significant first, each refusing cylinders it touches.

    Order: smallest expected_background (rank), then more devices, smaller radius,
    smaller anchor hit_id. A cylinder is refused when one of its members is a member
    or in the touch of a core already taken. priority: the core's place in that order.
    """
    order = np.lexsort(
        (eligible["anchor"], eligible["q"], -eligible["size"].to_numpy(), eligible["rank"])
    )
    blocked: set[int] = set()
    taken = []
    for k, members, touch in zip(
        order.tolist(), eligible["members"].iloc[order], eligible["touch"].iloc[order], strict=True
    ):
        if blocked.isdisjoint(members.tolist()):
            blocked.update(members.tolist(), touch.tolist())
            taken.append(k)
    return eligible.iloc[taken].assign(priority=np.arange(len(taken), dtype=np.int64))


def find_cores(
    members: pd.DataFrame, params: Params, hits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Candidates (the shower contract, reconstruction empty).

    members: the core_input(params) columns of every hit a cylinder may hold (all
    hits, or only those of seed groups: the cylinders are the same). hits: the hit
    columns of every hit a footprint may claim (default: members).
    """
    if members.empty:
        return empty_showers()
    cyl = cylinders(members, params)
    cores = take_cores(eligible_cylinders(cyl, params))
    if cores.empty:
        return empty_showers()
    hits = cyl.hits if hits is None else hits.sort_values(["t_ns", "hit_id"], kind="stable")
    claims = claim_footprints(hits, cores, params)
    rows = candidate_rows(cores, claims).merge(hits[list(HIT_COLUMNS)], on="hit_id")
    return core_summaries(rows, params)


def candidate_rows(cores: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """(priority, expected, hit_id, is_core) of each core's hits and footprint claims."""
    n = cores["members"].map(len).to_numpy()
    core_rows = pd.DataFrame(
        {
            "priority": np.repeat(cores["priority"].to_numpy(), n),
            "hit_id": np.concatenate(cores["members"].to_list()).astype(np.int64),
            "is_core": True,
        }
    )
    foot = claims.assign(is_core=False)[["priority", "hit_id", "is_core"]]
    rows = pd.concat([core_rows, foot], ignore_index=True)
    return rows.merge(cores[["priority", "expected"]], on="priority")


def core_summaries(rows: pd.DataFrame, params: Params) -> pd.DataFrame:
    """One shower row per core (contract types) from candidate_rows joined to the hit columns."""
    if rows.empty:
        return empty_showers()
    out = summarize(rows, params.min_devices)  # in priority order
    per_core = rows[rows["is_core"].to_numpy()].groupby("priority", sort=True)
    out["n_core_devices"] = per_core["device_id"].nunique().to_numpy(np.int64)
    out["n_core_hits"] = per_core.size().to_numpy(np.int64)
    chance = per_core["expected"].first().to_numpy(np.float64)
    out["expected_background"] = chance
    out["significance_sigma"] = [significance_sigma(float(x)) for x in chance]
    for name in RECONSTRUCTION:
        out[name] = None
    return with_contract_types(out)
