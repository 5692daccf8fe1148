"""Checking the background model: chance cylinders counted, predicted, and scrambled.

- observed: anchors whose cylinder of radius r holds at least k devices;
- model: sum over devices of N_d * P(Poisson(Lambda_d(r)) >= k - 1)
  (coincidence.background), the expected number of such anchors by chance;
- scrambles (CREDO's method): each device's hit times are shifted by its own
  random amount around its live time (a circular shift that keeps its own
  bursts and gaps but breaks every coincidence with other devices), and the
  search is run again. Shared by the Spark job and the reference.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.background import poisson_tail
from coincidence.cores import Cylinders, lam_columns
from coincidence.params import Params

Ints = npt.NDArray[np.int64]
COUNT_COLUMNS = ["radius_m", "k", "n"]


def multiplicities(params: Params, top: int = 10) -> list[int]:
    """The k reported: min_devices up to `top` (at least min_devices)."""
    return list(range(params.min_devices, max(top, params.min_devices) + 1))


def observed_counts(cyl: Cylinders, params: Params) -> pd.DataFrame:
    """COUNT_COLUMNS: anchors with at least k devices in their cylinder of radius_m."""
    rows = [
        (radius, k, int((cyl.sizes[:, q] >= k).sum()))
        for q, radius in enumerate(params.radii_m)
        for k in multiplicities(params)
    ]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def model_counts(devices: pd.DataFrame, params: Params) -> pd.DataFrame:
    """COUNT_COLUMNS: the model's expected chance anchors (devices: n and lam_q columns)."""
    n = devices["n"].to_numpy(np.float64)
    rows = []
    for name, radius in zip(lam_columns(params), params.radii_m, strict=True):
        lam = devices[name].to_numpy(np.float64)
        for k in multiplicities(params):
            need = np.full(len(lam), k - 1, dtype=np.int64)
            rows.append((radius, k, float((n * poisson_tail(lam, need)).sum())))
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def _live_axis(device_blocks: pd.DataFrame | None, span: tuple[int, int]) -> tuple[Ints, Ints]:
    """A device's live time as sorted, merged [start, end) intervals inside the span."""
    if device_blocks is None or device_blocks.empty:
        return np.array([span[0]], np.int64), np.array([span[1]], np.int64)
    start = np.clip(device_blocks["start_ns"].to_numpy(np.int64), *span)
    end = np.clip(device_blocks["end_ns"].to_numpy(np.int64), *span)
    order = np.argsort(start, kind="stable")
    merged: list[list[int]] = []
    for s, e in zip(start[order], end[order], strict=True):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], int(e))
        else:
            merged.append([int(s), int(e)])
    if not merged:
        return np.array([span[0]], np.int64), np.array([span[1]], np.int64)
    lo, hi = np.array(merged, dtype=np.int64).T
    return lo, hi


def scramble_device(
    t_ns: Ints,
    device_id: str,
    device_blocks: pd.DataFrame | None,
    span: tuple[int, int],
    seed: int,
) -> Ints:
    """One device's hit times, circularly shifted by a random amount along its live time.

    The shift comes from numpy.random.default_rng([seed, crc32(device_id)]), so the
    same seed scrambles a device the same way in every implementation.
    """
    lo, hi = _live_axis(device_blocks, span)
    length = hi - lo
    total = int(length.sum())
    offsets = np.concatenate([[0], np.cumsum(length)[:-1]])
    rng = np.random.default_rng([seed, zlib.crc32(device_id.encode())])
    shift = int(rng.integers(0, max(total, 1)))
    block = np.clip(np.searchsorted(lo, t_ns, side="right") - 1, 0, len(lo) - 1)
    along = offsets[block] + np.clip(t_ns - lo[block], 0, length[block] - 1)
    moved = (along + shift) % max(total, 1)
    where = np.searchsorted(offsets, moved, side="right") - 1
    shifted: Ints = lo[where] + (moved - offsets[where])
    return shifted


def scramble(
    hits: pd.DataFrame, exposures: pd.DataFrame | None, span: tuple[int, int], seed: int
) -> pd.DataFrame:
    """Hits with every device's times scrambled (scramble_device), rows in the same order."""
    blocks: dict[str, pd.DataFrame] = {}
    if exposures is not None:
        blocks = {str(d): g for d, g in exposures.groupby("device_id")}
    times = hits["t_ns"].to_numpy(np.int64).copy()
    for device, rows in hits.groupby("device_id").indices.items():
        times[rows] = scramble_device(times[rows], str(device), blocks.get(str(device)), span, seed)
    return hits.assign(t_ns=times)
