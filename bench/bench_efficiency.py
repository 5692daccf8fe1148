"""Efficiency against energy at 250, 500 and 1,000 phones per km^2: the CRAYFIS-style figure.

For each density and each 0.25-wide bin of log10 E from 18.5 to 21, simulates
a 3 km town of always-on phones (the project's simulator, sensor A = 1.5e-5 m^2
and efficiency 0.5, ~0.5 background hits per phone per minute) with showers
injected in that energy bin, runs the in-memory search (one search per
simulated span) with the core and energy fit, and plots the share of showers
found at >= 5 sigma. Prints the table and writes docs/efficiency.png.

    .venv/bin/python bench/bench_efficiency.py [--minutes 20] [--out docs/efficiency.png]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd

mpl.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coincidence.evaluate import confused, match
from coincidence.params import Params
from coincidence.reference import find_showers
from simulator.scenarios import simulate_town

DENSITIES = (250, 500, 1000)
BINS = np.arange(18.5, 21.01, 0.25)


def one_density(per_km2: int, hours: float, work: Path) -> pd.DataFrame:
    """Every injected shower of every energy bin: log10 E, sigma, and confusion."""
    parts = []
    for k, (lo, hi) in enumerate(itertools.pairwise(BINS)):
        town = simulate_town(
            work / f"d{per_km2}-{k}",
            seed=100 + k,
            per_km2=per_km2,
            side_km=3,
            hours=hours,
            showers_per_hour=180,
            energy_ev=(10**lo, 10**hi),
        )
        found = find_showers(town.hits, Params(), town.exposures)
        scored = match(found, town.truth)
        scored["confused"] = confused(town.truth, Params().radius_m, Params().window_ns)
        parts.append(scored)
    out = pd.concat(parts, ignore_index=True)
    return out[~out.confused].assign(log10_e=np.log10(out.energy_ev))


def efficiency(scored: pd.DataFrame) -> pd.DataFrame:
    """Per energy bin: showers, found at >= 5 sigma, the share and its binomial error."""
    binned = pd.cut(scored["log10_e"], list(BINS))
    found = (scored.sigma >= 5).groupby(binned, observed=False)
    table = pd.DataFrame({"showers": found.size(), "found": found.sum()})
    table["efficiency"] = table.found / table.showers.where(table.showers > 0)
    table["error"] = np.sqrt(table.efficiency * (1 - table.efficiency) / table.showers)
    table["log10_e"] = [b.mid for b in table.index]
    return table.reset_index(drop=True)


def plot(tables: dict[int, pd.DataFrame], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for per_km2, table in tables.items():
        ax.errorbar(
            table.log10_e,
            table.efficiency,
            yerr=table.error,
            marker="o",
            capsize=3,
            label=f"{per_km2:,} phones per km²",
        )
    ax.set_xlabel("log10(primary energy / eV)")
    ax.set_ylabel("found at ≥ 5σ")
    ax.set_ylim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("crowdray: efficiency of the scan search (simulated)")
    fig.text(
        0.01,
        0.01,
        "Sensor assumed: A = 1.5e-5 m², efficiency 0.5; ~0.5 background hits "
        "per phone per minute; 50 ms window.",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=20.0,
        help="simulated (and searched) minutes per density and bin",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/efficiency.png"))
    args = parser.parse_args()
    tables = {}
    with tempfile.TemporaryDirectory(prefix="crowdray-eff-") as tmp:
        for per_km2 in DENSITIES:
            started = time.perf_counter()
            scored = one_density(per_km2, args.minutes / 60, Path(tmp))
            tables[per_km2] = efficiency(scored)
            print(f"{per_km2:,} phones/km^2 ({time.perf_counter() - started:.0f} s)")
            print(
                tables[per_km2][["log10_e", "showers", "found", "efficiency"]]
                .round(3)
                .to_string(index=False)
            )
    plot(tables, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
