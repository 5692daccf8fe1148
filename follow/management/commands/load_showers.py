"""crowdray load-showers DIR: load a coincidence output into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from follow.load import load_result


class Command(BaseCommand):
    help = "Load shower candidates (a crowdray coincidence --output DIR) into the database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "result", type=Path, help="the --output directory of crowdray coincidence"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            counts = load_result(opts["result"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"loaded {counts['showers']} showers ({counts['links']} hit links), "
            f"replaced {counts['replaced']} rows of earlier searches"
        )
