"""Simulator benchmark: time and peak memory to write about 10^7 hits.

.venv/bin/python bench/bench_simulate.py [--hits 1e7]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.generate import SimConfig
from simulator.output import simulate_to_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=float, default=1e7)
    args = parser.parse_args()
    devices = 10_000
    rate_hz = 0.5 / 60
    hours = args.hits / (devices * rate_hz * 3600)
    config = SimConfig(
        seed=1,
        devices=devices,
        hours=hours,
        always_on=True,
        mean_rate_hz=rate_hz,
        inject_per_hour=50,
    )
    out = Path(tempfile.mkdtemp(prefix="crowdray-sim-"))
    try:
        start = time.perf_counter()
        summary = simulate_to_dir(config, out, progress=False)
        elapsed = time.perf_counter() - start
        size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"simulated {summary['hits']:,} hits from {devices:,} phones over {hours:.1f} h "
        f"in {elapsed:.1f} s: {summary['hits'] / elapsed:,.0f} hits/s"
    )
    print(
        f"peak memory {peak_mib:,.0f} MiB, output {size / 2**20:,.0f} MiB, "
        f"{summary['showers']} showers"
    )


if __name__ == "__main__":
    main()
