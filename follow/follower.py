"""`crowdray follow`: one long-running process does everything after the commit.

Uploads only append. The follower tails new hits and exposure blocks
(follow.tail) and hands them to its consumers, each at its own interval:
- `counters`: the dashboard's per-minute and per-cell counters (always);
- `status`: the public status, computed once per CROWDRAY_STATUS_INTERVAL_S
  (follow.status), unless that is 0;
- `lake:<path>`: the Parquet lake export, when CROWDRAY_LAKE_DIR is set;
- `live`: the live search's provisional showers (follow.live), unless
  CROWDRAY_LIVE_INTERVAL_S is 0;
- `index`: the Elasticsearch indices (follow.indexer), when ELASTICSEARCH_URL is set;
- `days`: on PostgreSQL, the partitions of the coming days, and the retirement of
  days past CROWDRAY_DB_RETENTION_DAYS once the lake holds them (follow.retention).

A consumer that fails (database down, disk full) backs off, doubling its wait
up to a minute, and then catches up from its mark: nothing is lost or doubled.

The live search runs in a thread of its own (Consumer.own_thread): a long pass
over a flood of hits must not hold back the counters the dashboard shows.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TypedDict

from django.conf import settings
from django.db import close_old_connections, connection

from follow.counters import Counters
from follow.export import LakeExport
from follow.indexer import Indexer
from follow.live import from_settings as live_search
from follow.retention import DayPartitions
from follow.status import StatusSnapshots
from follow.tail import STREAMS, Consumer, catch_up, lag
from follow.teams import TeamSnapshots
from ingest.days import partitioned
from ingest.models import ConsumerMark
from vocab.units import NS_PER_S

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0
CHUNKS_PER_TURN = 20  # then the other consumers get their turn


def configured() -> list[Consumer]:
    """The consumers this installation runs, from the settings."""
    consumers: list[Consumer] = [Counters(settings.CROWDRAY_FOLLOW_INTERVAL_S)]
    if settings.CROWDRAY_STATUS_INTERVAL_S > 0:
        consumers.append(StatusSnapshots(settings.CROWDRAY_STATUS_INTERVAL_S))
    if settings.CROWDRAY_TEAMS_INTERVAL_S > 0:
        consumers.append(TeamSnapshots(settings.CROWDRAY_TEAMS_INTERVAL_S))
    if settings.CROWDRAY_LAKE_DIR:
        consumers.append(
            LakeExport(settings.CROWDRAY_LAKE_DIR, settings.CROWDRAY_EXPORT_INTERVAL_S)
        )
    if settings.CROWDRAY_LIVE_INTERVAL_S > 0:
        consumers.append(live_search())
    if settings.ELASTICSEARCH_URL:
        consumers.append(Indexer(settings.CROWDRAY_INDEX_INTERVAL_S))
    if partitioned():
        retention = settings.CROWDRAY_DB_RETENTION_DAYS
        consumers.append(DayPartitions(retention, settings.CROWDRAY_LAKE_DIR))
    return consumers


class Follower:
    """Runs each consumer when it is due, until stopped."""

    def __init__(self, consumers: list[Consumer]) -> None:
        self.consumers = consumers
        self.due = dict.fromkeys((c.name for c in consumers), 0.0)
        self.backoff = dict.fromkeys((c.name for c in consumers), 0.0)

    def turn(self, consumer: Consumer) -> None:
        """One turn of a consumer; schedules its next."""
        try:
            done = catch_up(consumer, max_chunks=CHUNKS_PER_TURN)
        except Exception as exc:  # noqa: BLE001 - one consumer's failure must not stop the others
            wait = min(MAX_BACKOFF_S, max(1.0, 2 * self.backoff[consumer.name]))
            self.backoff[consumer.name] = wait
            self.due[consumer.name] = time.monotonic() + wait
            log.warning("follow %s failed, retrying in %.0f s: %s", consumer.name, wait, exc)
            connection.close()  # a fresh connection next time
            return
        self.backoff[consumer.name] = 0.0
        busy = done is not None and any(n >= consumer.chunk_rows for n in done.values())
        self.due[consumer.name] = time.monotonic() + (0.0 if busy else consumer.interval_s)
        if done and any(done.values()):
            log.info("follow %s: %s", consumer.name, done)

    def run(self, stop: threading.Event) -> None:
        log.info("follower started: %s", ", ".join(c.name for c in self.consumers))
        while not stop.is_set():
            close_old_connections()
            for consumer in self.consumers:
                if time.monotonic() >= self.due[consumer.name] and not stop.is_set():
                    self.turn(consumer)
            stop.wait(max(0.0, min(self.due.values()) - time.monotonic()))
        connection.close()
        log.info("follower stopped")


def run_all(consumers: list[Consumer], stop: threading.Event) -> None:
    """Run the consumers until stop is set: those wanting their own thread each in one."""
    groups = [[c for c in consumers if not c.own_thread]]
    groups += [[c] for c in consumers if c.own_thread]
    threads = [
        threading.Thread(target=Follower(group).run, args=(stop,), name=f"follow-{group[0].name}")
        for group in groups
        if group
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class ConsumerLag(TypedDict):
    """One consumer in GET /api/v1/health and `crowdray follow --status`."""

    rows: int
    seconds: float
    folded: int
    updated_at: str | None


def status() -> dict[str, ConsumerLag]:
    """Each known consumer's lag: rows not yet done, age of the oldest, rows done.

    A consumer that reads no rows (`status`) reports when its work was last done,
    and its age as the lag in seconds.
    """
    consumers = configured()
    streams = {c.name: list(c.streams) for c in consumers}
    for mark in ConsumerMark.objects.order_by("consumer", "stream"):
        if mark.stream not in streams.setdefault(mark.consumer, []) and mark.stream in STREAMS:
            streams[mark.consumer].append(mark.stream)
    out: dict[str, ConsumerLag] = {}
    for name, names in streams.items():
        marks = {m.stream: m for m in ConsumerMark.objects.filter(consumer=name)}
        lags = [lag(name, s) for s in names]
        updated = max((m.updated_at for m in marks.values()), default=None)
        out[name] = {
            "rows": sum(x.rows for x in lags),
            "seconds": max((x.seconds for x in lags), default=0.0),
            "folded": sum(m.rows for m in marks.values()),
            "updated_at": updated.isoformat() if updated else None,
        }
    for consumer in consumers:
        ticked = consumer.last_tick_ns()
        if ticked is not None:
            at = datetime.fromtimestamp(ticked / NS_PER_S, UTC)
            out[consumer.name]["updated_at"] = at.isoformat()
            out[consumer.name]["seconds"] = max(0.0, (time.time_ns() - ticked) / NS_PER_S)
    return out
