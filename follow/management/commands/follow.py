"""`crowdray follow [--status] [--once] [--only NAMES | --skip NAMES]`: run the consumers.

--only and --skip split the consumers between processes: on PostgreSQL,
`follow --skip live` and `follow --only live` as two services keep a long live
search off the counters' CPU, where threads share one (Python's GIL).
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from follow.follower import configured, run_all, status
from follow.tail import Consumer, catch_up


class Command(BaseCommand):
    help = (
        "Run the follower until stopped: dashboard counters, lake export (CROWDRAY_LAKE_DIR), "
        "live search, Elasticsearch indexing (ELASTICSEARCH_URL)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--status", action="store_true", help="print each consumer's lag as JSON and exit"
        )
        parser.add_argument(
            "--once", action="store_true", help="catch every consumer up once, then exit"
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--only", metavar="NAMES", help="run only these consumers (comma-separated names)"
        )
        which.add_argument("--skip", metavar="NAMES", help="run all consumers but these")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["status"]:
            self.stdout.write(json.dumps(status(), indent=2))
            return
        consumers = chosen(configured(), opts["only"], opts["skip"])
        if opts["once"]:
            for consumer in consumers:
                done = catch_up(consumer)
                held = " (held by another process, skipped)" if done is None else ""
                self.stdout.write(f"{consumer.name}: {done or {}}{held}")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_all(consumers, stop)


def chosen(consumers: list[Consumer], only: str | None, skip: str | None) -> list[Consumer]:
    """The consumers --only or --skip names; an unknown name is an error naming the known.

    A consumer answers to its name and to its kind, the name before a colon
    (`lake` for `lake:/data/lake`, `live` for the live search's part `live:2/3`).
    """

    def called(c: Consumer) -> set[str]:
        return {c.name, c.name.split(":")[0]}

    names = {n for c in consumers for n in called(c)}
    given = {n.strip() for n in (only or skip or "").split(",") if n.strip()}
    unknown = sorted(given - names)
    if unknown:
        raise CommandError(
            f"no consumer named {', '.join(unknown)} here; this installation runs "
            f"{', '.join(sorted(c.name for c in consumers))} (see the settings that turn each on)"
        )
    if only is not None:
        return [c for c in consumers if called(c) & given]
    return [c for c in consumers if not called(c) & given]
