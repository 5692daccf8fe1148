"""`crowdray simulate`: write a simulated network's data to Parquet (no Django)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from simulator.generate import DEFAULT_START_NS, SimConfig
from simulator.presets import PRESETS
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
    p.add_argument(
        "--dialect",
        choices=("crowdray", "crayfis"),
        default="crowdray",
        help="fleet: upload as crowdray's JSON API (default) or as the CRAYFIS app "
        "(protobuf DataChunks on /submit; needs the server's salt)",
    )
    p.add_argument(
        "--crayfis-salt",
        default=os.environ.get("CROWDRAY_CRAYFIS_SALT", ""),
        help="fleet, crayfis: the server's CROWDRAY_CRAYFIS_SALT (default: that variable)",
    )
    p.add_argument("--duration", type=float, help="fleet: simulated seconds (default 600)")
    p.add_argument("--speedup", type=float, default=60.0, help="fleet: clock compression (60)")
    p.add_argument("--connections", type=int, default=8, help="fleet: requests in flight (8)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="town",
        help="a standard scenario (default town: 1,000 phones on a km^2 with "
        "showers that fire them; world: sparse phones, the physical flux; demo: "
        "crowdray demo's cities); the options below override it",
    )
    p.add_argument("--devices", type=int, help="phones")
    p.add_argument("--hours", type=float, help="simulated hours")
    p.add_argument("--start", type=int, default=DEFAULT_START_NS, help="start, UTC epoch ns")
    p.add_argument("--box", type=_box, help="phones uniform in min_lon,min_lat,max_lon,max_lat")
    p.add_argument(
        "--always-on", action="store_true", default=None, help="every phone runs all the time"
    )
    p.add_argument("--rate-per-min", type=float, help="mean background hits/min per phone")
    p.add_argument(
        "--inject-per-hour", type=float, help="showers per hour (default: physical flux)"
    )
    p.add_argument("--energy-min", type=float, help="eV (the spectrum goes down to 1e14)")
    p.add_argument("--energy-max", type=float, help="eV")
    p.add_argument("--sensor-area-m2", type=float, help="effective sensor area per phone")
    p.add_argument("--rows-per-file", type=int, default=5_000_000, help="hits per output file")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from simulator.output import simulate_to_dir

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is None and args.post_to is None:
        parser.error("give --out DIR, --post-to URL, or both")
    fields = chosen(args)
    if fields["devices"] < 1 or fields["hours"] <= 0:
        parser.error("--devices must be >= 1 and --hours > 0")
    if args.post_to:
        return _fleet(args, parser)
    if not 0 < fields["energy_min_ev"] < fields["energy_max_ev"]:
        parser.error("--energy-min must be positive and below --energy-max")
    config = SimConfig(seed=args.seed, start_ns=args.start, **fields)
    summary = simulate_to_dir(config, args.out, rows_per_file=args.rows_per_file)
    print(json.dumps(summary), file=sys.stderr)
    print(
        f"simulate: {summary['hits']:,} hits at {summary['hits_per_s']:,} hits/s into {args.out}",
        file=sys.stderr,
    )
    return summary


OPTIONS = {
    "devices": "devices",
    "hours": "hours",
    "box": "box",
    "always_on": "always_on",
    "inject_per_hour": "inject_per_hour",
    "energy_min": "energy_min_ev",
    "energy_max": "energy_max_ev",
    "sensor_area_m2": "sensor_area_m2",
}


def chosen(args: argparse.Namespace) -> dict[str, Any]:
    """SimConfig fields: the preset's, then every option given on the command line."""
    fields = dict(PRESETS[args.preset])
    for option, field in OPTIONS.items():
        if getattr(args, option) is not None:
            fields[field] = getattr(args, option)
    if args.box is not None:
        fields.pop("places", None)
    if args.rate_per_min is not None:
        fields["mean_rate_hz"] = args.rate_per_min / 60.0
    fields.setdefault("energy_min_ev", SimConfig.energy_min_ev)
    fields.setdefault("energy_max_ev", SimConfig.energy_max_ev)
    return fields


def _fleet(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    import time

    from simulator.fleet import FleetConfig, run_fleet

    duration = args.duration or 600.0
    if args.speedup <= 0 or args.connections < 1 or duration <= 0:
        parser.error("--speedup, --connections and --duration must be positive")
    if args.dialect == "crayfis" and not args.crayfis_salt:
        parser.error("--dialect crayfis needs --crayfis-salt (or CROWDRAY_CRAYFIS_SALT)")
    # The phones' data end now, so every hit is inside the server's time window.
    start = time.time_ns() - s_to_ns(duration)
    fields = chosen(args) | {"hours": duration / 3600, "always_on": True}
    config = SimConfig(seed=args.seed, start_ns=start, **fields)
    fleet = FleetConfig(
        args.post_to.rstrip("/"),
        args.speedup,
        connections=args.connections,
        dialect=args.dialect,
        salt=args.crayfis_salt,
    )
    summary = run_fleet(config, fleet, args.out, report=True)
    print(json.dumps(summary), file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
