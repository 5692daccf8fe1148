"""Core and energy resolution at a sparse density: simulated towns, and the fit's own model.

The fit's own model judges its estimator and the goals' selection alone.

1. Towns from the project's simulator (4 x 4 km, always-on phones, showers of
   10^19.8-10^21.5 eV, zenith up to 60 deg, 3 h each), one per seed, searched by the
   reference with the fit. For showers that fired >= 10 phones: median core error,
   median and 68% half-width of delta log10 E, per seed and pooled. The goals
   (tests/coincidence/test_efficiency.py) are the reference: 25 m, 0.1, 0.15.
2. Vertical showers drawn from the fit's own likelihood model at the same density,
   phones at random over 1 x 1 km, cores within 50 m of the middle:
   - the fit's maximum against a posterior mean of the core (flat prior, over a
     grid of +-120 m by 6 m and +-0.5 in log10 E around the maximum);
   - the median delta log10 E of showers that fired >= 10 phones against all with >= 4,
     the selection the goals make.

Sensor assumed: A = 1.5e-5 m^2, efficiency 0.5 (the simulator's and the search's
defaults); ~0.5 background hits per phone per minute.

    .venv/bin/python bench/bench_resolution.py [--per-km2 250] [--seeds 21 22 23 24]
                                               [--model 150]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coincidence.evaluate import confused, half_width_68, match
from coincidence.params import Params
from coincidence.reconstruct import Phones, fit_phones
from coincidence.reference import find_showers
from simulator.scenarios import simulate_town
from vocab.shower import electron_number, nkg_density

P = Params()
CHANCE = 1e-4  # a phone's chance hits in the fit's window, about 0.5/min over 100 ms


def simulated(per_km2: float, seed: int, work: Path) -> pd.DataFrame:
    """Matched showers that fired >= 10 phones (not confused) in one simulated town."""
    town = simulate_town(
        work / str(seed),
        seed=seed,
        per_km2=per_km2,
        side_km=4,
        hours=3,
        showers_per_hour=120,
        energy_ev=(10**19.8, 10**21.5),
    )
    matched = match(find_showers(town.hits, P, town.exposures), town.truth)
    clear = ~confused(town.truth, P.radius_m, P.window_ns)
    return matched[(matched.n_devices >= 10) & clear.to_numpy()]


def describe(name: str, big: pd.DataFrame) -> None:
    print(
        f"  {name}: {len(big)} showers, median core error {big.core_err_m.median():.1f} m, "
        f"median dlog10 E {big.dlog10_e.median():+.3f}, "
        f"68% half-width {half_width_68(big.dlog10_e):.3f}"
    )


def draw(rng: np.random.Generator, n_phones: int) -> tuple[Phones, np.ndarray, float]:
    """One vertical shower from the fit's model: the phones, the true core and log10 E."""
    east, north = rng.uniform(-500, 500, (2, n_phones))
    core, true_lg = rng.uniform(-50, 50, 2), rng.uniform(19.5, 20.6)
    mu = nkg_density(np.hypot(east - core[0], north - core[1]), electron_number(10**true_lg))
    fired = rng.random(n_phones) < -np.expm1(-(mu * P.sensor_area_m2 * P.efficiency + CHANCE))
    return Phones(east, north, np.full(n_phones, CHANCE), fired), core, true_lg


def posterior_mean(phones: Phones, theta: np.ndarray) -> np.ndarray:
    """The core's posterior mean, flat prior, on a grid around the fit's maximum."""
    step = np.arange(-120, 121, 6.0)
    gx, gy = (g.ravel() for g in np.meshgrid(theta[0] + step, theta[1] + step))
    r = np.hypot(phones.east[None, :] - gx[:, None], phones.north[None, :] - gy[:, None])
    nll = np.empty((len(gx), 21))
    for k, lg in enumerate(theta[2] + np.linspace(-0.5, 0.5, 21)):
        mu = nkg_density(r, electron_number(10**lg)) * P.sensor_area_m2 * P.efficiency
        mu = mu + phones.chance[None, :]
        log_p = np.log(-np.expm1(-np.maximum(mu[:, phones.fired], 1e-300))).sum(axis=1)
        nll[:, k] = -log_p + mu[:, ~phones.fired].sum(axis=1)
    weight = np.exp(-(nll - nll.min())).sum(axis=1)
    mean: np.ndarray = np.array([(weight * gx).sum(), (weight * gy).sum()]) / weight.sum()
    return mean


def on_the_model(per_km2: float, n_showers: int) -> None:
    rng = np.random.default_rng(4)
    # fired phones, the fit's core miss, the posterior mean's miss, delta log10 E
    rows: list[tuple[int, float, float, float]] = []
    while sum(1 for r in rows if r[0] >= 10) < n_showers:
        phones, core, true_lg = draw(rng, int(per_km2))
        if phones.fired.sum() < 4:
            continue
        result = fit_phones(phones, P)
        if result is None:
            continue
        theta = result[0]
        mean = posterior_mean(phones, theta) if phones.fired.sum() >= 10 else theta[:2]
        rows.append(
            (
                int(phones.fired.sum()),
                np.hypot(*(theta[:2] - core)),
                np.hypot(*(mean - core)),
                theta[2] - true_lg,
            )
        )
    a = np.array(rows)
    big = a[a[:, 0] >= 10]
    print(f"on the fit's own model, {per_km2:g} phones/km^2, {len(big)} showers >= 10 phones:")
    print(
        f"  median core error: fit's maximum {np.median(big[:, 1]):.1f} m, "
        f"posterior mean {np.median(big[:, 2]):.1f} m"
    )
    print(
        f"  median dlog10 E: >= 10 phones {np.median(big[:, 3]):+.3f}, "
        f">= 4 phones {np.median(a[:, 3]):+.3f} ({len(a)} showers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-km2", type=float, default=250)
    parser.add_argument("--seeds", type=int, nargs="+", default=[21, 22, 23, 24])
    parser.add_argument("--model", type=int, default=150, help="showers drawn from the model")
    args = parser.parse_args()
    print(
        f"simulated towns, {args.per_km2:g} phones/km^2, showers that fired >= 10 phones "
        f"(goals: core <= 25 m, |dlog10 E| <= 0.1, half-width <= 0.15):"
    )
    with tempfile.TemporaryDirectory() as tmp:
        per_seed = []
        for seed in args.seeds:
            per_seed.append(simulated(args.per_km2, seed, Path(tmp)))
            describe(f"seed {seed}", per_seed[-1])
    describe("pooled", pd.concat(per_seed))
    on_the_model(args.per_km2, args.model)


if __name__ == "__main__":
    main()
