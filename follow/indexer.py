"""Keeping Elasticsearch in step with the database: the follower's `index` consumer, rebuilds.

New hits and exposure blocks reach the index through the follower's tail
(follow.tail) with the bulk helpers; a chunk that fails (server down, a
refusal) is redone from the consumer's mark once the server is back, and the
deterministic ids (ingest.es) make the redo harmless. Showers change in place
(the live search) and are replaced (load-showers), so they are kept in step
differently: whenever the shower table changed (count, latest update), the
consumer indexes the showers updated since its last sync and deletes the
indexed ones the table no longer has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypedDict

from django.db.models import Count, Max, QuerySet
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from follow.tail import Chunk, Consumer, lag
from ingest import es
from ingest.models import ExposureBlock, Hit, Shower
from vocab.contracts import EXPOSURE_SCHEMA, SHOWER_SCALARS

log = logging.getLogger(__name__)
BLOCK_FIELDS = ("device_id", "block_id", *EXPOSURE_SCHEMA.names[2:])
SHOWER_FIELDS = ("shower_id", "provisional", *SHOWER_SCALARS)
BULK_DOCS = 2000


def send(client: Elasticsearch, actions: list[dict[str, Any]]) -> int:
    """Bulk-index actions; raises when any is refused (the caller redoes them all)."""
    if not actions:
        return 0
    done, _ = bulk(client, actions, chunk_size=BULK_DOCS, max_retries=2, raise_on_error=True)
    return done


def _rows(columns: dict[str, list[Any]], rename: dict[str, str]) -> list[dict[str, Any]]:
    names = [rename.get(n, n) for n in columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


class Indexer(Consumer):
    """The follower's consumer that indexes new hits and blocks, and keeps showers in step."""

    name = "index"
    streams = {"hits": es.HIT_FIELDS, "exposures": BLOCK_FIELDS}
    transactional = False  # indexing a document again is harmless
    chunk_rows = 5000

    def __init__(self, interval_s: float = 2.0) -> None:
        self.interval_s = interval_s
        self.client: Elasticsearch | None = None
        self.showers_seen: tuple[int, datetime | None] | None = None
        self.showers_synced: datetime | None = None

    def prepare(self) -> None:
        if self.client is None:
            client = es.client()
            es.ensure_templates(client)
            self.client = client
        self.sync_showers()

    def fold(self, chunk: Chunk) -> None:
        if self.client is None:
            raise RuntimeError("prepare() first")
        rows = _rows(chunk.columns, {"id": "hit_id"})
        action = es.hit_action if chunk.stream == "hits" else es.block_action
        send(self.client, [action(r) for r in rows])

    def sync_showers(self) -> None:
        """Index the showers changed since the last sync; drop the ones no longer in the table."""
        if self.client is None:
            raise RuntimeError("prepare() first")
        seen = Shower.objects.aggregate(n=Count("shower_id"), last=Max("updated_at"))
        state = (seen["n"], seen["last"])
        if state == self.showers_seen:
            return
        changed = Shower.objects.all()
        if self.showers_synced is not None:
            changed = changed.filter(updated_at__gte=self.showers_synced)
        sync_showers(self.client, changed)
        self.showers_seen, self.showers_synced = state, seen["last"]


def sync_showers(client: Elasticsearch, changed: QuerySet[Shower] | None = None) -> dict[str, int]:
    """Index `changed` showers (default all) and delete indexed showers not in the table."""
    indexed = send(client, [es.shower_action(r) for r in _shower_rows(changed)])
    client.indices.refresh(index=es.SHOWERS)
    stale = _indexed_shower_ids(client) - set(Shower.objects.values_list("shower_id", flat=True))
    if stale:
        send(client, [{"_op_type": "delete", "_index": es.SHOWERS, "_id": s} for s in stale])
    log.info("index: %d showers indexed, %d deleted", indexed, len(stale))
    return {"indexed": indexed, "deleted": len(stale)}


def _shower_rows(changed: QuerySet[Shower] | None) -> Iterator[dict[str, Any]]:
    qs = Shower.objects.all() if changed is None else changed
    yield from qs.order_by("shower_id").values(*SHOWER_FIELDS).iterator(chunk_size=BULK_DOCS)


def _indexed_shower_ids(client: Elasticsearch) -> set[str]:
    if not client.indices.exists(index=es.SHOWERS):
        return set()
    ids: set[str] = set()
    after: list[Any] | None = None
    while True:
        reply = client.search(
            index=es.SHOWERS,
            size=BULK_DOCS,
            source=False,
            sort=[{"shower_id": "asc"}],
            search_after=after,
        )
        hits = reply["hits"]["hits"]
        ids |= {h["_id"] for h in hits}
        if len(hits) < BULK_DOCS:
            return ids
        after = hits[-1]["sort"]


def rebuild(
    what: tuple[str, ...],
    since_ns: int | None = None,
    until_ns: int | None = None,
    progress: Callable[[int], object] = lambda _: None,
) -> dict[str, int]:
    """Index everything (or the time range) of `what` from the database; returns the counts."""
    client = es.client(timeout_s=60.0)
    es.ensure_templates(client)
    done: dict[str, int] = {}
    if "hits" in what:
        hits = _in_range(Hit.objects.all(), "t_ns", since_ns, until_ns)
        done["hits"] = _reindex(client, hits, ("id", *es.HIT_FIELDS), es.hit_action, progress)
    if "exposures" in what:
        blocks = _in_range(ExposureBlock.objects.all(), "end_ns", since_ns, until_ns)
        done["exposures"] = _reindex(client, blocks, BLOCK_FIELDS, es.block_action, progress)
    if "showers" in what:
        showers = _in_range(Shower.objects.all(), "t_ns", since_ns, until_ns)
        done["showers"] = sync_showers(client, showers)["indexed"]
    client.indices.refresh(index=f"{es.HITS},{es.EXPOSURES},{es.SHOWERS}", ignore_unavailable=True)
    return done


def _in_range(qs: QuerySet[Any], field: str, since: int | None, until: int | None) -> Any:
    if since is not None:
        qs = qs.filter(**{f"{field}__gte": since})
    if until is not None:
        qs = qs.filter(**{f"{field}__lt": until})
    return qs


def _reindex(
    client: Elasticsearch,
    qs: QuerySet[Any],
    fields: tuple[str, ...],
    action: Callable[[dict[str, Any]], dict[str, Any]],
    progress: Callable[[int], object],
) -> int:
    total, batch = 0, []
    for row in qs.order_by("id").values(*fields).iterator(chunk_size=BULK_DOCS):
        batch.append(action({("hit_id" if k == "id" else k): v for k, v in row.items()}))
        if len(batch) >= BULK_DOCS:
            total += send(client, batch)
            progress(len(batch))
            batch = []
    total += send(client, batch)
    progress(len(batch))
    return total


class IndexCount(TypedDict):
    database: int
    index: int | None
    pending: int


def status() -> dict[str, IndexCount]:
    """Documents per index next to the rows in the database, and rows not yet indexed."""
    client = es.client()
    out: dict[str, IndexCount] = {}
    sources: list[tuple[str, str, QuerySet[Any]]] = [
        ("hits", es.HITS, Hit.objects.all()),
        ("exposures", es.EXPOSURES, ExposureBlock.objects.all()),
        ("showers", es.SHOWERS, Shower.objects.all()),
    ]
    for what, index, qs in sources:
        count = None
        if client.indices.exists(index=index):
            client.indices.refresh(index=index)
            count = int(client.count(index=index)["count"])
        pending = lag(Indexer.name, what).rows if what != "showers" else 0
        out[what] = {"database": qs.count(), "index": count, "pending": pending}
    return out
