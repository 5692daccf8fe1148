"""`crowdray coincidence`: run the search from the command line (no Django)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
        help="time link, ms (default %(default)g)",
    )
    p.add_argument(
        "--radius-m",
        type=float,
        default=DEFAULTS.radius_m,
        help="distance link, m (default %(default)g)",
    )
    p.add_argument("--min-devices", type=int, default=DEFAULTS.min_devices,
                   help="distinct devices (default %(default)d)")  # fmt: skip
    p.add_argument("--since", type=parse_time, help="start of the span, ISO 8601 or epoch ns")
    p.add_argument("--until", type=parse_time, help="end of the span (exclusive)")
    p.add_argument("--exposures", help="exposure blocks (Parquet: device_id, start_ns, end_ns)")
    p.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    p.add_argument("--driver-memory", default="4g", help="Spark driver memory (default 4g)")
    p.add_argument("--shuffle-partitions", type=int, help="Spark shuffle partitions")
    return p


def main(argv: list[str] | None = None) -> SearchSummary:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = Params(
            window_ms=args.window_ms, radius_m=args.radius_m, min_devices=args.min_devices,
            since_ns=args.since, until_ns=args.until,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))
    from pyspark.errors import AnalysisException

    from coincidence import job
    from coincidence.session import build_session

    spark = build_session(
        args.master,
        shuffle_partitions=args.shuffle_partitions,
        ui=False,
        driver_memory=args.driver_memory,
    )
    try:
        log.info("reading %s on %s", args.input, args.master)
        summary = job.main(spark, args.input, args.output, params, exposures=args.exposures)
    except AnalysisException as exc:
        print(f"crowdray coincidence: {exc.getMessage()}", file=sys.stderr)
        sys.exit(2)
    except ValueError as exc:
        print(f"crowdray coincidence: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        spark.stop()
    print(json.dumps(summary["counts"]), file=sys.stderr)
    print(f"coincidence: wrote {summary['output']} and summary.json", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
