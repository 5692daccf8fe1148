"""Load a coincidence result (OUTPUT/showers + summary.json) into the database.

The candidates of the analysed span replace whatever earlier searches left in
that span, so rerunning a search never duplicates showers. With Elasticsearch
configured they are indexed, and the replaced ones deleted from the index. Each shower is
linked to its member hits that exist in this database.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from django.db import transaction

from ingest.models import Hit, SearchRun, Shower
from vocab.contracts import SHOWER_SCALARS, member_span

log = logging.getLogger(__name__)


def load_result(result: Path) -> dict[str, Any]:
    summary_path = result / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{summary_path} not found: is {result} a coincidence output?")
    summary = json.loads(summary_path.read_text())
    rows = pq.read_table(result / "showers").to_pylist()
    lo, hi = summary.get("span_ns") or [None, None]
    with transaction.atomic():
        replaced = 0
        if lo is not None and hi is not None:
            # Provisional showers of the live search in the span go too (follow.live).
            _, deleted = Shower.objects.filter(t_ns__gte=lo, t_ns__lt=hi).delete()
            replaced = deleted.get(Shower._meta.label, 0)
        Shower.objects.filter(shower_id__in=[r["shower_id"] for r in rows]).delete()
        run = SearchRun.objects.create(params=summary["parameters"], since_ns=lo, until_ns=hi)
        Shower.objects.bulk_create(
            [Shower(shower_id=r["shower_id"], search=run, **_scalars(r)) for r in rows],
            batch_size=1000,
        )
        links = _links(rows)
        Shower.hits.through.objects.bulk_create(links, batch_size=5000)
    log.info(
        "load %s: %d showers (%d hit links), replaced %d, search run %d",
        result,
        len(rows),
        len(links),
        replaced,
        run.pk,
    )
    _index(run)
    return {"showers": len(rows), "links": len(links), "replaced": replaced, "search": run.pk}


def _scalars(row: dict[str, Any]) -> dict[str, Any]:
    """A row's one-number columns; a search from before whole showers reported its core."""
    out = {f: row.get(f) for f in SHOWER_SCALARS}
    if out["n_core_devices"] is None:
        out["n_core_devices"], out["n_core_hits"] = out["n_devices"], out["n_hits"]
    return out


def _index(run: SearchRun) -> None:
    """Index the loaded showers and drop the replaced ones, when Elasticsearch is configured.

    Best effort: if the server is down the follower's index consumer does it later.
    """
    from elasticsearch import ApiError, TransportError

    from follow.indexer import sync_showers
    from ingest import es

    if not es.configured():
        return
    try:
        sync_showers(es.client(), Shower.objects.filter(search=run))
    except (ApiError, TransportError) as exc:
        log.warning("load: showers not indexed now (%s); the follower will index them", exc)


def _links(rows: list[dict[str, Any]]) -> list[Any]:
    through = Shower.hits.through
    wanted = {h for r in rows for h in r["hit_ids"]}
    known: set[int] = set()
    ids = sorted(wanted)
    # Within the showers' member spans, PostgreSQL reads only their days, not every day's.
    spans = [member_span(r["t_ns"], r["t_spread_ns"]) for r in rows]
    near = (min((lo for lo, _ in spans), default=0), max((hi for _, hi in spans), default=0))
    for start in range(0, len(ids), 5000):
        chunk = Hit.objects.filter(id__in=ids[start : start + 5000], t_ns__range=near)
        known.update(chunk.values_list("id", flat=True))
    return [
        through(shower_id=r["shower_id"], hit_id=h)
        for r in rows
        for h in r["hit_ids"]
        if h in known
    ]
