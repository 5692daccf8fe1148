"""`crowdray coincidence`: run the search from the command line (no Django)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coincidence.failures import SearchError
from coincidence.params import Params
from vocab.times import TimeFormatError, parse_time_ns

if TYPE_CHECKING:  # the job imports pyspark: only when a search runs
    from coincidence.job import SearchSummary

log = logging.getLogger(__name__)
DEFAULTS = Params()


def parse_time(text: str) -> int:
    """ISO 8601 (naive means UTC) or integer epoch ns -> epoch ns, for argparse."""
    try:
        return parse_time_ns(text)
    except TimeFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crowdray coincidence",
        description="Find air-shower candidates in hits (Parquet hit contract) with Spark.",
    )
    p.add_argument("--input", required=True, help="Parquet file, directory, glob or hit lake")
    p.add_argument(
        "--output", required=True, type=Path, help="directory for showers/ and summary.json"
    )
    p.add_argument(
        "--window-ms",
        type=float,
        default=DEFAULTS.window_ms,
        help="a core's time window, ms (default %(default)g)",
    )
    p.add_argument(
        "--radius-m",
        type=float,
        default=DEFAULTS.radius_m,
        help="a core's largest disc, m; discs of 1/8, 1/4, 1/2 of it are scanned "
        "too (default %(default)g)",
    )
    p.add_argument(
        "--min-devices",
        type=int,
        default=DEFAULTS.min_devices,
        help="distinct devices in a core (default %(default)d)",
    )
    p.add_argument(
        "--max-expected",
        type=float,
        default=DEFAULTS.max_expected,
        help="keep cores with at most this many chance cores expected "
        "(default %(default)g; inf keeps every core)",
    )
    p.add_argument(
        "--sensor-area-m2",
        type=float,
        default=DEFAULTS.sensor_area_m2,
        help="a phone's sensor area for the energy fit (default %(default)g)",
    )
    p.add_argument(
        "--efficiency",
        type=float,
        default=DEFAULTS.efficiency,
        help="share of crossing particles a sensor records (default %(default)g)",
    )
    p.add_argument(
        "--scrambles",
        type=int,
        default=0,
        help="search N copies with each device's times scrambled, and report the "
        "chance rates in summary.json (default 0)",
    )
    p.add_argument("--since", type=parse_time, help="start of the span, ISO 8601 or epoch ns")
    p.add_argument("--until", type=parse_time, help="end of the span (exclusive)")
    p.add_argument(
        "--exposures",
        help="exposure blocks (Parquet: device_id, start_ns, end_ns, "
        "lat, lon; or a lake from crowdray export, which holds them in exposures/): "
        "live time, and the core and energy fit",
    )
    p.add_argument(
        "--max-hits-per-min",
        type=int,
        default=DEFAULTS.max_hits_per_min,
        help="search only a device's first N hits (by hit_id) of each UTC minute, like the "
        "server's counters; the rest are listed in summary.json (default %(default)d; 0: all)",
    )
    p.add_argument(
        "--allow-missing-days",
        action="store_true",
        help="search a lake that holds no hits for some days of the span, as if they "
        "were quiet (refused by default: the rates would come out too low)",
    )
    p.add_argument(
        "--python-memory",
        help="memory limit of each Python worker, e.g. 4g: a task over it fails with a "
        "message instead of exhausting the machine (default: no limit)",
    )
    p.add_argument(
        "--cell-m",
        type=float,
        default=DEFAULTS.cell_m,
        help="spatial side of a Spark tile, m; smaller tiles hold fewer hits per task, "
        "results do not change (default %(default)g)",
    )
    p.add_argument(
        "--bucket-s",
        type=float,
        default=DEFAULTS.bucket_s,
        help="time side of a Spark tile, s; results do not change (default %(default)g)",
    )
    p.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    p.add_argument("--driver-memory", default="4g", help="Spark driver memory (default 4g)")
    p.add_argument("--shuffle-partitions", type=int, help="Spark shuffle partitions")
    return p


def main(argv: list[str] | None = None) -> SearchSummary:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = Params(
            window_ms=args.window_ms,
            radius_m=args.radius_m,
            min_devices=args.min_devices,
            max_expected=args.max_expected,
            since_ns=args.since,
            until_ns=args.until,
            sensor_area_m2=args.sensor_area_m2,
            efficiency=args.efficiency,
            cell_m=args.cell_m,
            bucket_s=args.bucket_s,
            max_hits_per_min=args.max_hits_per_min,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.scrambles < 0:
        parser.error("--scrambles must be 0 or more")
    from pyspark.errors import AnalysisException

    from coincidence import job
    from coincidence.session import build_session

    spark = build_session(
        args.master,
        shuffle_partitions=args.shuffle_partitions,
        ui=False,
        driver_memory=args.driver_memory,
        python_memory=args.python_memory,
        log_level="FATAL",  # a failure is explained below, without Spark's stack traces
    )
    try:
        log.info("reading %s on %s", args.input, args.master)
        summary = job.main(
            spark,
            args.input,
            args.output,
            params,
            exposures=args.exposures,
            scrambles=args.scrambles,
            allow_missing_days=args.allow_missing_days,
        )
    except AnalysisException as exc:
        print(f"crowdray coincidence: {exc.getMessage()}", file=sys.stderr)
        sys.exit(2)
    except ValueError as exc:
        print(f"crowdray coincidence: {exc}", file=sys.stderr)
        sys.exit(2)
    except SearchError as exc:
        print(f"crowdray coincidence: {exc}", file=sys.stderr)
        sys.exit(1 if exc.out_of_memory else 2)
    finally:
        spark.stop()
    print(json.dumps(summary["counts"]), file=sys.stderr)
    print(f"coincidence: wrote {summary['output']} and summary.json", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
