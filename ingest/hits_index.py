"""GET /api/v1/hits from the Elasticsearch index: the same filters and reply shape as the database.

Hits are sorted by time (the date_nanos field, exact to the ns) and hit id, and
paged forward with search_after: `next` carries the last hit's sort values as
the cursor; `previous` is always null from the index.
"""

from __future__ import annotations

import uuid
from typing import Any

from api.query import QueryError, parse_bbox
from ingest import es

SORT = [{"time": "asc"}, {"hit_id": "asc"}]
FIELDS = ("hit_id", *es.HIT_FIELDS)  # GET /api/v1/hits's reply, in its order


def filters(params: Any) -> list[dict[str, Any]]:
    """The index filters of GET /api/v1/hits's query parameters (ingest.query.filter_hits)."""
    out = es.time_filters(params)
    if "bbox" in params:
        out.append(es.box(*parse_bbox(str(params["bbox"]))))
    if "device" in params:
        try:
            out.append({"term": {"device_id": str(uuid.UUID(params["device"]))}})
        except ValueError:
            raise QueryError({"device": "must be a device id (UUID)"}) from None
    return out


def page(params: Any, size: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of hits (the HitOut shape) and the cursor of the next, or None at the end."""
    body: dict[str, Any] = {
        "query": {"bool": {"filter": filters(params)}},
        "sort": SORT,
        "size": size,
    }
    if params.get("cursor"):
        body["search_after"] = es.decode_cursor(str(params["cursor"]), "cursor", len(SORT))
    reply = es.client().search(index=es.HITS, ignore_unavailable=True, **body)
    hits = reply["hits"]["hits"]
    rows = []
    for h in hits:
        doc = h["_source"]
        doc["lat"], doc["lon"] = doc["location"]["lat"], doc["location"]["lon"]
        rows.append({name: doc.get(name) for name in FIELDS})
    following = es.encode_cursor(hits[-1]["sort"]) if len(hits) == size else None
    return rows, following
