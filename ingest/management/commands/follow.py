"""`crowdray follow [--status] [--once]`: fold new hits and blocks into every consumer."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from ingest.follower import configured, run_all, status
from ingest.tail import catch_up


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

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["status"]:
            self.stdout.write(json.dumps(status(), indent=2))
            return
        consumers = configured()
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
