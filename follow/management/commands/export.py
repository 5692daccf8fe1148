"""`crowdray export --out LAKE [--since ISO] [--until ISO]`: hits to the Parquet lake."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from follow.export import LakeError, export
from vocab.times import TimeFormatError, parse_time_ns


class Command(BaseCommand):
    help = "Export hits to the Parquet lake (incremental; --since/--until for a one-off range)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", required=True, type=Path, help="lake directory")
        parser.add_argument("--since", help="one-off export from this time (ISO 8601 or ns)")
        parser.add_argument("--until", help="... until this time (exclusive)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            since = parse_time_ns(opts["since"]) if opts["since"] else None
            until = parse_time_ns(opts["until"]) if opts["until"] else None
        except TimeFormatError as exc:
            raise CommandError(f"--since/--until: {exc}") from None
        with tqdm(unit="row", disable=not sys.stderr.isatty(), desc="export") as bar:
            try:
                result = export(opts["out"], since, until, progress=bar.update)
            except LakeError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(
            f"exported {result['hits']} hits and {result['exposures']} exposure blocks "
            f"in {result['files']} files to {opts['out']}"
        )
        if not result["files"]:
            self.stdout.write(
                "nothing in that span: no files written; `crowdray coincidence` reads such "
                "a lake as no hits"
            )
