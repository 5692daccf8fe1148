"""Compact cores inside the seed groups: shared, unchanged, by the Spark job and the reference.

A seed group is a connected group of linked hits (coincidence/__init__.py). Inside
it every hit a anchors a cylinder per scanned radius r: the hits b with
t_a <= t_b <= t_a + W (in the order of (t_ns, hit_id)) within r of a. Each
cylinder with at least min_devices devices gets its expected_background
(coincidence.background). Cores are taken greedily, most significant first
(ties: more devices, smaller radius, smaller anchor hit_id). A cylinder is
refused when one of its hits lies within the window and radius_m of a core
already taken, so one shower is never split into two candidates, while two
showers far apart in one group give two. A core is a candidate when its
expected_background is at most max_expected. Its members are its cylinder's
hits and the rest of its footprint (coincidence.footprint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.background import expected_chance, significance_sigma
from coincidence.candidates import empty_showers, summarize, with_contract_types
from coincidence.footprint import whole_showers
from coincidence.geo import haversine_m
from coincidence.params import Params
from coincidence.sweep import linked_pairs
from vocab.contracts import RECONSTRUCTION

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def lam_columns(params: Params) -> list[str]:
    """Per-hit columns holding Lambda_d(r) of its device, one per scanned radius."""
    return [f"lam_{q}" for q in range(len(params.radii_m))]


def hood_columns(params: Params) -> list[str]:
    """Per-hit columns holding H_d(r) of its device, one per scanned radius."""
    return [f"hood_{q}" for q in range(len(params.radii_m))]


def core_input(params: Params) -> list[str]:
    """The columns find_cores needs: seed label, the hit, and its device's neighbourhood."""
    return [
        "label",
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


def _greedy(
    order: Ints, anchors: Ints, radius_of: Floats, pairs: tuple[Ints, Ints, Floats], n: int
) -> list[tuple[int, Ints]]:
    """Take cylinders in `order` unless they touch hits blocked by a core already taken."""
    i, j, dist = pairs
    by_i = np.argsort(i, kind="stable")
    by_j = np.argsort(j, kind="stable")
    i_sorted, j_sorted = i[by_i], j[by_j]
    blocked = np.zeros(n, dtype=bool)
    taken: list[tuple[int, Ints]] = []
    for k in order:
        a = int(anchors[k])
        lo, hi = np.searchsorted(i_sorted, [a, a + 1])
        after = by_i[lo:hi]
        members = np.append(j[after][dist[after] <= radius_of[k]], a)
        if blocked[members].any():
            continue
        lo_j, hi_j = np.searchsorted(j_sorted, [a, a + 1])
        blocked[members] = True
        blocked[j[after]] = True
        blocked[i[by_j[lo_j:hi_j]]] = True
        taken.append((int(k), members))
    return taken


@dataclass(frozen=True)
class Cylinders:
    """Every hit's cylinders.

    hits: sorted by (label, t_ns, hit_id); pairs: linked (i before j) with their
    distances; sizes: distinct devices per hit (anchor) and scanned radius.
    """

    hits: pd.DataFrame
    pairs: tuple[Ints, Ints, Floats]
    sizes: Ints


def cylinders(members: pd.DataFrame, params: Params) -> Cylinders:
    """The cylinders of whole seed groups (members: label, hit_id, device_id, t_ns, lat, lon)."""
    df = members.sort_values(["label", "t_ns", "hit_id"], kind="stable").reset_index(drop=True)
    lat, lon = df["lat"].to_numpy(np.float64), df["lon"].to_numpy(np.float64)
    i, j = linked_pairs(
        df["label"].to_numpy(np.int64),
        df["t_ns"].to_numpy(np.int64),
        lat,
        lon,
        params.window_ns,
        params.radius_m,
    )
    dist = haversine_m(lat[i], lon[i], lat[j], lon[j])
    dev = pd.factorize(df["device_id"])[0].astype(np.int64)
    return Cylinders(df, (i, j, dist), _cylinder_sizes(dev, i, j, dist, params.radii_m))


def find_cores(members: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Candidates (the shower contract, reconstruction empty) of whole seed groups.

    `members` holds the core_input(params) columns for every hit of each group it covers.
    """
    if members.empty:
        return empty_showers()
    cyl = cylinders(members, params)
    df, sizes, radii = cyl.hits, cyl.sizes, params.radii_m
    lam = df[lam_columns(params)].to_numpy(np.float64)
    hood = df[hood_columns(params)].to_numpy(np.float64)
    expected = expected_chance(hood, lam, sizes, len(radii))
    anchors, q = np.nonzero((sizes >= params.min_devices) & (expected <= params.max_expected))
    if len(anchors) == 0:
        return empty_showers()
    e = expected[anchors, q]
    # Rounded so that last-bit differences between implementations never reorder near-ties.
    rank = np.round(np.log10(np.maximum(e, 1e-300)), 9)
    hit_ids = df["hit_id"].to_numpy(np.int64)
    order = np.lexsort((hit_ids[anchors], q, -sizes[anchors, q], rank))
    radius_of = np.asarray(radii, dtype=np.float64)[q]
    taken = _greedy(order, anchors, radius_of, cyl.pairs, len(df))
    return _summaries(df, taken, e, params)


def _summaries(
    df: pd.DataFrame, taken: list[tuple[int, Ints]], expected: Floats, params: Params
) -> pd.DataFrame:
    if not taken:
        return empty_showers()
    cores = [m for _, m in taken]
    whole = whole_showers(df, cores, params)
    out = summarize(_labelled(df, whole), params.min_devices)  # keeps label order
    devices = df["device_id"].to_numpy()
    out["n_core_devices"] = [len(set(devices[m])) for m in cores]
    out["n_core_hits"] = [len(m) for m in cores]
    chance = np.array([expected[k] for k, _ in taken])
    out["expected_background"] = chance
    out["significance_sigma"] = [significance_sigma(float(x)) for x in chance]
    for name in RECONSTRUCTION:
        out[name] = None
    return with_contract_types(out)


def _labelled(df: pd.DataFrame, members: list[Ints]) -> pd.DataFrame:
    """The hits of each candidate, labelled by its place in `members`."""
    rows = np.concatenate(members)
    label = np.repeat(np.arange(len(members)), [len(m) for m in members])
    return df.iloc[rows][["hit_id", "device_id", "t_ns", "lat", "lon"]].assign(label=label)
