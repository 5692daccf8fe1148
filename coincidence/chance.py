"""The chance report of summary.json, in memory: model, data and scrambles side by side.

See coincidence.calibration for what is counted. The Spark job builds the same
report from the same functions (coincidence.job.chance_report).
"""

from __future__ import annotations

import math
from typing import TypedDict

import pandas as pd

from coincidence.calibration import model_counts, multiplicities, observed_counts, scramble
from coincidence.candidates import empty_showers
from coincidence.cores import core_input, cylinders, find_cores
from coincidence.params import Params
from coincidence.reference import Prepared, prepare


class CylinderRow(TypedDict):
    radius_m: float
    k: int
    model: float
    data: int
    scrambled: float | None
    scrambled_err: float | None


class CandidateRow(TypedDict):
    n_devices: int
    data: int
    scrambled: float | None
    scrambled_err: float | None


class ChanceReport(TypedDict):
    """summary.json's "chance": cylinders and candidates per multiplicity.

    Cylinders with at least k devices, and candidates, in the data and per
    scrambled copy (mean and its standard error), next to the model.
    """

    scrambles: int
    cylinders: list[CylinderRow]
    candidates: list[CandidateRow]


def _mean_err(values: list[int]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    series = pd.Series(values, dtype="float64")
    err = float(series.std(ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else None
    return float(series.mean()), err


def candidate_counts(showers: pd.DataFrame, params: Params) -> dict[int, int]:
    """Candidates per multiplicity; the last k counts every larger one too."""
    top = multiplicities(params)[-1]
    counts = showers["n_devices"].clip(upper=top).value_counts()
    return {k: int(counts.get(k, 0)) for k in multiplicities(params)}


def assemble(
    params: Params,
    model: pd.DataFrame,
    data: pd.DataFrame,
    found: dict[int, int],
    scrambled: list[tuple[pd.DataFrame, dict[int, int]]],
) -> ChanceReport:
    """The report from counts (COUNT_COLUMNS frames and candidate counts per k)."""
    key = ["radius_m", "k"]
    table = model.rename(columns={"n": "model"}).merge(data.rename(columns={"n": "data"}), on=key)
    runs = [s.set_index(key)["n"] for s, _ in scrambled]
    cyl: list[CylinderRow] = []
    for radius, k, expected, seen in table[[*key, "model", "data"]].to_numpy().tolist():
        mean, err = _mean_err([int(run.loc[(radius, k)]) for run in runs])
        cyl.append(
            CylinderRow(
                radius_m=float(radius),
                k=int(k),
                model=float(expected),
                data=int(seen),
                scrambled=mean,
                scrambled_err=err,
            )
        )
    cands: list[CandidateRow] = []
    for k in multiplicities(params):
        mean, err = _mean_err([c[k] for _, c in scrambled])
        cands.append(CandidateRow(n_devices=k, data=found[k], scrambled=mean, scrambled_err=err))
    return ChanceReport(scrambles=len(scrambled), cylinders=cyl, candidates=cands)


def _counts(
    hits: pd.DataFrame, params: Params, exposures: pd.DataFrame | None
) -> tuple[Prepared, pd.DataFrame, dict[int, int]]:
    prep = prepare(hits, params, exposures)
    observed = observed_counts(cylinders(prep.members, params), params)
    members = prep.members[core_input(params)]
    found = find_cores(members, params, prep.hits) if len(members) else None
    return prep, observed, candidate_counts(found if found is not None else empty_showers(), params)


def chance_report(
    hits: pd.DataFrame,
    params: Params,
    exposures: pd.DataFrame | None = None,
    scrambles: int = 0,
    seed: int = 1,
) -> ChanceReport:
    """Model, data and `scrambles` scrambled copies, counted the same way."""
    prep, observed, found = _counts(hits, params, exposures)
    runs = []
    for replica in range(scrambles):
        copy = scramble(prep.hits, exposures, prep.span_ns, seed + replica)
        _, s_observed, s_found = _counts(copy, params, exposures)
        runs.append((s_observed, s_found))
    return assemble(params, model_counts(prep.devices, params), observed, found, runs)
