"""`crowdray index rebuild|status`: the Elasticsearch indices from the database; their lag."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from elasticsearch import ApiError, TransportError
from tqdm import tqdm

from follow import indexer
from ingest import es
from vocab.times import TimeFormatError, parse_time_ns

WHAT = ("hits", "exposures", "showers")


class Command(BaseCommand):
    help = "Rebuild the Elasticsearch indices from the database, or compare their counts."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild", help="index the database's rows again")
        rebuild.add_argument("--since", help="from this time (ISO 8601 or epoch ns)")
        rebuild.add_argument("--until", help="until this time (exclusive)")
        rebuild.add_argument(
            "--what",
            choices=WHAT,
            action="append",
            help="hits, exposures or showers (repeatable; default: all)",
        )
        sub.add_parser("status", help="documents per index next to rows in the database, as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not es.configured():
            raise CommandError("ELASTICSEARCH_URL is not set: there is no index to work on")
        try:
            if opts["action"] == "status":
                self.stdout.write(json.dumps(indexer.status(), indent=2))
                return
            self.rebuild(opts)
        except (ApiError, TransportError) as exc:
            raise CommandError(f"Elasticsearch at {settings.ELASTICSEARCH_URL}: {exc}") from None

    def rebuild(self, opts: dict[str, Any]) -> None:
        try:
            since = parse_time_ns(opts["since"]) if opts["since"] else None
            until = parse_time_ns(opts["until"]) if opts["until"] else None
        except TimeFormatError as exc:
            raise CommandError(f"--since/--until: {exc}") from None
        what = tuple(opts["what"] or WHAT)
        with tqdm(unit="doc", disable=not sys.stderr.isatty(), desc="index") as bar:
            done = indexer.rebuild(what, since, until, progress=bar.update)
        self.stdout.write(", ".join(f"{n} {name}" for name, n in done.items()) + " indexed")
