"""`crowdray simulate`: write a simulated network's data to Parquet (no Django)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulator.generate import DEFAULT_START_NS, SimConfig
from vocab.units import s_to_ns


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("--box takes min_lon,min_lat,max_lon,max_lat") from None
    if not -90 <= min_lat < max_lat <= 90:
        raise argparse.ArgumentTypeError("--box latitudes must satisfy -90 <= min < max <= 90")
    return min_lon, min_lat, max_lon, max_lat


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crowdray simulate", description="Simulate phones and air showers into Parquet files."
    )
    p.add_argument("--out", type=Path, help="output directory (required without --post-to)")
    p.add_argument(
        "--post-to", metavar="URL", help="run a fleet of virtual phones against this API"
    )
    p.add_argument("--duration", type=float, help="fleet: simulated seconds (default 600)")
    p.add_argument("--speedup", type=float, default=60.0, help="fleet: clock compression (60)")
    p.add_argument("--connections", type=int, default=8, help="fleet: requests in flight (8)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--devices", type=int, default=500, help="phones (default 500)")
    p.add_argument("--hours", type=float, default=2.0, help="simulated hours (default 2)")
    p.add_argument("--start", type=int, default=DEFAULT_START_NS, help="start, UTC epoch ns")
    p.add_argument("--box", type=_box, help="phones uniform in min_lon,min_lat,max_lon,max_lat")
    p.add_argument("--always-on", action="store_true", help="every phone runs all the time")
    p.add_argument("--rate-per-min", type=float, help="mean background hits/min per phone")
    p.add_argument(
        "--inject-per-hour", type=float, help="showers per hour (default: physical flux)"
    )
    p.add_argument(
        "--energy-min",
        type=float,
        default=1e16,
        help="eV (default 1e16; the spectrum goes down to 1e14)",
    )
    p.add_argument("--energy-max", type=float, default=1e21, help="eV (default 1e21)")
    p.add_argument("--sensor-area-m2", type=float, help="effective sensor area per phone")
    p.add_argument("--rows-per-file", type=int, default=5_000_000, help="hits per output file")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from simulator.output import simulate_to_dir

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is None and args.post_to is None:
        parser.error("give --out DIR, --post-to URL, or both")
    if args.devices < 1 or args.hours <= 0:
        parser.error("--devices must be >= 1 and --hours > 0")
    if args.post_to:
        return _fleet(args, parser)
    if not 0 < args.energy_min < args.energy_max:
        parser.error("--energy-min must be positive and below --energy-max")
    extra = {}
    if args.rate_per_min is not None:
        extra["mean_rate_hz"] = args.rate_per_min / 60.0
    if args.sensor_area_m2 is not None:
        extra["sensor_area_m2"] = args.sensor_area_m2
    config = SimConfig(
        seed=args.seed, devices=args.devices, hours=args.hours, start_ns=args.start, box=args.box,
        always_on=args.always_on, inject_per_hour=args.inject_per_hour,
        energy_min_ev=args.energy_min, energy_max_ev=args.energy_max, **extra,
    )  # fmt: skip
    summary = simulate_to_dir(config, args.out, rows_per_file=args.rows_per_file)
    print(json.dumps(summary), file=sys.stderr)
    print(f"simulate: {summary['hits']:,} hits at {summary['hits_per_s']:,} hits/s into {args.out}",
          file=sys.stderr)  # fmt: skip
    return summary


def _fleet(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    import time

    from simulator.fleet import FleetConfig, run_fleet

    duration = args.duration or 600.0
    if args.speedup <= 0 or args.connections < 1 or duration <= 0:
        parser.error("--speedup, --connections and --duration must be positive")
    # The phones' data end now, so every hit is inside the server's time window.
    start = time.time_ns() - s_to_ns(duration)
    config = SimConfig(
        seed=args.seed, devices=args.devices, hours=duration / 3600, start_ns=start,
        box=args.box, always_on=True, inject_per_hour=args.inject_per_hour,
        energy_min_ev=args.energy_min, energy_max_ev=args.energy_max,
        **({"sensor_area_m2": args.sensor_area_m2} if args.sensor_area_m2 else {}),
        **({"mean_rate_hz": args.rate_per_min / 60} if args.rate_per_min else {}),
    )  # fmt: skip
    fleet = FleetConfig(args.post_to.rstrip("/"), args.speedup, connections=args.connections)
    summary = run_fleet(config, fleet, args.out)
    print(json.dumps(summary), file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
