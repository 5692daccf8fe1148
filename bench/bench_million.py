"""The batch search at CRAYFIS density: `crowdray coincidence` on 10^5 and 10^6 phones.

For each (phones, hits) asked, simulates with the project's simulator an
always-on network at 1,000 phones per km^2 (a square town of phones/1000 km^2),
~0.5 background hits per phone per minute (the span is what makes the hits),
showers at 10^19.5-10^21 eV injected at one per 10^4 hits, and one exposure
block per phone. Real phone sensors (A = 1.5e-5 m^2, efficiency 0.5, the
defaults). Then, on local[2] unless told otherwise:

- the floor: Spark reads the same Parquet, sorts it by time and writes it
  nowhere (a noop sink, so the sort really runs), timed after the session starts;
- `crowdray coincidence --exposures` with a wall-clock limit, sampling the RSS
  of its process tree (driver JVM and Python workers) for the peak;
- the science against the truth: showers that fired >= 10 phones found at
  >= 5 sigma, core error, energy error, and chance candidates at >= 5 sigma.

Prints one row per size with wall time, hits/s, the job's own read/search/fit
split, peak memory and the ratio to the floor (goal: <= 3x; 10^8 hits in
<= 300 s).

    .venv/bin/python bench/bench_million.py [--phones 1e5 1e6] [--hits 1e6]
        [--master local[2]] [--limit-s 1800] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coincidence.evaluate import chance_candidates, half_width_68, match
from simulator.generate import SimConfig
from simulator.output import simulate_to_dir
from simulator.presets import square

ROOT = Path(__file__).resolve().parent.parent
PER_KM2 = 1000
RATE_HZ = 0.5 / 60
HITS_PER_SHOWER = 10_000  # injected showers: one per this many background hits

FLOOR = """
import sys, time
from coincidence.session import build_session
spark = build_session(sys.argv[1])
started = time.time()
spark.read.parquet(sys.argv[2]).sort("t_ns").write.format("noop").mode("overwrite").save()
n = spark.read.parquet(sys.argv[2]).count()
print(round(time.time() - started, 3), n)
"""


def network(phones: int, hits: int, seed: int = 1) -> SimConfig:
    """The always-on town of `phones` at PER_KM2 whose background makes about `hits`."""
    hours = hits / (phones * RATE_HZ) / 3600
    return SimConfig(
        seed=seed,
        devices=phones,
        hours=hours,
        box=square(46.2, 6.1, math.sqrt(phones / PER_KM2)),
        mean_rate_hz=RATE_HZ,
        always_on=True,
        inject_per_hour=hits / HITS_PER_SHOWER / hours,
        energy_min_ev=10**19.5,
        energy_max_ev=1e21,
    )


def floor_s(master: str, hits: Path) -> float:
    """Seconds for Spark to read, sort by time and count the hits (session start excluded)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", FLOOR, master, str(hits)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(out.stdout.split()[-2])


class PeakMemory(threading.Thread):
    """Samples the resident memory of a process and all its children, twice a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                rss = 0
                for proc in tree:
                    with contextlib.suppress(psutil.Error):  # a worker that just ended
                        rss += proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)


def search(master: str, data: Path, out: Path, limit_s: float) -> dict[str, Any]:
    """`crowdray coincidence` on the simulated hits and blocks: its summary, wall time, peak."""
    command = [
        *(sys.executable, "-m", "crowdray.cli", "coincidence"),
        *("--input", str(data / "hits.parquet"), "--output", str(out)),
        *("--exposures", str(data / "exposures.parquet"), "--master", master),
    ]
    started = time.time()
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    memory = PeakMemory(proc.pid)
    memory.start()
    try:
        _, err = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.communicate()
        memory.done.set()
        return {"wall_s": None, "peak_gib": memory.peak / 2**30}
    memory.done.set()
    if proc.returncode != 0:
        raise SystemExit(f"crowdray coincidence failed:\n{err[-3000:]}")
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    summary["wall_s"] = time.time() - started
    summary["peak_gib"] = memory.peak / 2**30
    return summary


def science(data: Path, out: Path, hours: float) -> dict[str, float]:
    """Efficiency, core and energy error, and chance at >= 5 sigma against the truth."""
    truth = pd.read_parquet(data / "truth.parquet")
    found = pd.read_parquet(out / "showers")
    matched = match(found, truth)
    big = matched[matched.n_devices >= 10]
    seen = big[big.sigma >= 5]
    chance = chance_candidates(found, truth)
    n_chance = int((chance.significance_sigma >= 5).sum())
    return {
        "fired_10": len(big),
        "efficiency": len(seen) / len(big) if len(big) else math.nan,
        "core_m": float(np.nanmedian(seen.core_err_m)) if len(seen) else math.nan,
        "dlog10_e": float(np.nanmedian(seen.dlog10_e)) if len(seen) else math.nan,
        "half_width": half_width_68(seen.dlog10_e.dropna()) if len(seen) else math.nan,
        "chance_5sigma": n_chance,
        "chance_per_day": n_chance * 24 / hours,
    }


def one_size(phones: int, hits: int, args: argparse.Namespace) -> dict[str, Any]:
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-million-", dir=args.work))
    try:
        config = network(phones, hits)
        made = simulate_to_dir(config, work / "data", progress=sys.stderr.isatty())
        floor = floor_s(args.master, work / "data" / "hits.parquet")
        summary = search(args.master, work / "data", work / "search", args.limit_s)
        row: dict[str, Any] = {
            "phones": phones,
            "hits": made["hits"],
            "minutes": config.hours * 60,
            "floor_s": floor,
            "wall_s": summary["wall_s"],
            "peak_gib": summary["peak_gib"],
        }
        if summary["wall_s"] is None:
            return row
        row |= {f"{k}_s": v for k, v in summary["timings_s"].items()}
        row["hits_per_s"] = made["hits"] / summary["timings_s"]["total"]
        row["ratio_to_floor"] = summary["timings_s"]["total"] / floor
        row["candidates"] = summary["counts"]["showers"]
        row |= science(work / "data", work / "search", config.hours)
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def show(row: dict[str, Any], limit_s: float) -> None:
    head = f"{row['phones']:>9,} phones {row['hits']:>12,} hits ({row['minutes']:.1f} min)"
    if row["wall_s"] is None:
        print(
            f"{head}: not finished within {limit_s:.0f} s (floor {row['floor_s']:.1f} s, "
            f"peak {row['peak_gib']:.1f} GiB)"
        )
        return
    print(
        f"{head}: search {row['total_s']:.1f} s (wall {row['wall_s']:.1f} s; read "
        f"{row['read_s']:.1f}, floods {row.get('floods_s', math.nan):.1f}, "
        f"rates {row.get('rates_s', math.nan):.1f}, candidates "
        f"{row.get('candidates_s', math.nan):.1f}, fit {row['fit_s']:.1f}), "
        f"{row['hits_per_s']:,.0f} hits/s, floor {row['floor_s']:.1f} s, "
        f"{row['ratio_to_floor']:.1f}x the floor (goal <= 3x), peak {row['peak_gib']:.1f} GiB"
    )
    print(
        f"    science: {row['fired_10']} showers fired >= 10 phones, "
        f"{row['efficiency']:.1%} found at >= 5 sigma (goal >= 97%), core "
        f"{row['core_m']:.1f} m (<= 25), dlog10 E {row['dlog10_e']:+.3f} (|.| <= 0.1), "
        f"68% half-width {row['half_width']:.3f} (<= 0.15), chance at >= 5 sigma "
        f"{row['chance_5sigma']} ({row['chance_per_day']:.1f}/day; <= 1)"
    )
    target = 1e8 / row["hits_per_s"]
    print(f"    at this rate 10^8 hits take {target:,.0f} s (goal <= 300 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=float, nargs="+", default=[1e5, 1e6])
    parser.add_argument("--hits", type=float, nargs="+", default=[1e6])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--limit-s", type=float, default=1800, help="give up on a search after")
    parser.add_argument("--work", help="where the data go (default: the temporary directory)")
    args = parser.parse_args()
    for phones in args.phones:
        for hits in args.hits:
            show(one_size(int(phones), int(hits), args), args.limit_s)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
