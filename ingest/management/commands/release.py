"""`crowdray release --since --until --out DIR`: a citable, privacy-safe data package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ingest.release import KM_PER_DEG, Release, write
from vocab.cells import CELL_DEG
from vocab.times import TimeFormatError, parse_time_ns


class Command(BaseCommand):
    help = (
        "Write hits, exposures and showers of a time range as a versioned data package "
        "(Parquet, datapackage.json, DataCite metadata, checksums), positions coarsened."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", required=True, help="ISO 8601 or epoch ns")
        parser.add_argument("--until", required=True, help="ISO 8601 or epoch ns (exclusive)")
        parser.add_argument("--out", required=True, type=Path, help="a new, empty folder")
        default_km = CELL_DEG * KM_PER_DEG
        parser.add_argument(
            "--grid-km",
            type=float,
            default=default_km,
            help=f"position grid (default {default_km:.2f} km, the public cell)",
        )
        parser.add_argument("--title", default="", help="the dataset's title")
        parser.add_argument("--creator", default="crowdray volunteers", help="who made it")
        parser.add_argument("--release-version", default="1", help="the release's version")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            since, until = parse_time_ns(opts["since"]), parse_time_ns(opts["until"])
        except TimeFormatError as exc:
            raise CommandError(f"--since/--until: {exc}") from None
        if opts["grid_km"] < CELL_DEG * KM_PER_DEG:
            raise CommandError("--grid-km may not be finer than the public ~1.1 km cell")
        release = Release(
            since,
            until,
            opts["out"],
            opts["grid_km"],
            opts["title"],
            opts["creator"],
            opts["release_version"],
        )
        try:
            counts = write(release)
        except (FileExistsError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"released {counts['hits']} hits, {counts['exposures']} exposure "
            f"blocks and {counts['showers']} showers to {opts['out']}"
        )
        if not any(counts.values()):
            self.stdout.write("nothing in that span: every file is valid, in its contract, empty")
