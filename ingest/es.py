"""Elasticsearch: the one client factory, the indices, and the documents of hits, blocks, showers.

The database is the record; the indices can always be rebuilt from it
(follow.indexer). Every document has a deterministic id, so indexing a row
again overwrites it and never doubles it.

- crowdray-hits-YYYY.MM (by the UTC month of t_ns, alias crowdray-hits):
  one hit, _id <device_id>:<seq>;
- crowdray-exposures: one exposure block, _id <device_id>:<block_id>;
- crowdray-showers: one shower candidate, batch or provisional, _id shower_id.

A hit also carries its ~1 km privacy cell (vocab.cells), which the public
map aggregates by: nothing public is finer. Times are kept twice: t_ns (long,
as stored) and `time`, ISO 8601 in a date_nanos field, which filters, sorts
and date histograms use (Elasticsearch reads a number in a date_nanos field
as milliseconds).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from api.query import CursorError, query_time_ns
from vocab.cells import cell_of
from vocab.contracts import SHOWER_SCALARS, UPLOAD_HIT_FIELDS
from vocab.units import NS_PER_S

HITS = "crowdray-hits"
EXPOSURES = "crowdray-exposures"
SHOWERS = "crowdray-showers"

_LONG, _FLOAT, _INT = {"type": "long"}, {"type": "double"}, {"type": "integer"}
_KEYWORD, _NANOS, _POINT = {"type": "keyword"}, {"type": "date_nanos"}, {"type": "geo_point"}
MAPPINGS: dict[str, dict[str, Any]] = {
    HITS: {
        "hit_id": _LONG,
        "device_id": _KEYWORD,
        "seq": _LONG,
        "t_ns": _LONG,
        "time": _NANOS,
        "cell": _KEYWORD,
        "t_err_ns": _LONG,
        "location": _POINT,
        "alt_m": _FLOAT,
        "loc_err_m": _FLOAT,
        "x": _INT,
        "y": _INT,
        "value": _INT,
        "n_pixels": _INT,
    },
    EXPOSURES: {
        "block_id": _KEYWORD,
        "device_id": _KEYWORD,
        "start_ns": _LONG,
        "end_ns": _LONG,
        "start": _NANOS,
        "end": _NANOS,
        "location": _POINT,
        "loc_err_m": _FLOAT,
        "frames": _LONG,
        "l1_threshold": _INT,
        "l2_threshold": _INT,
        "n_hits": _LONG,
    },
    SHOWERS: {
        "shower_id": _KEYWORD,
        "time": _NANOS,
        "location": _POINT,
        "provisional": {"type": "boolean"},
        **{
            name: (
                _LONG
                if name in ("t_ns", "t_spread_ns")
                else _INT
                if name.startswith("n_")
                else _FLOAT
            )
            for name in SHOWER_SCALARS
        },
    },
}
PATTERNS = {HITS: f"{HITS}-*", EXPOSURES: EXPOSURES, SHOWERS: SHOWERS}
# A hit's columns in the database (id aside), as the index and the hits API read them.
HIT_FIELDS = ("device_id", *UPLOAD_HIT_FIELDS)


class PlainJsonNode(Urllib3HttpNode):
    """Sends plain JSON media types instead of the client's compatibility ones.

    The official client sends `application/vnd.elasticsearch+json; compatible-with=N`,
    which OpenSearch-compatible servers refuse with 406, and a per-request `headers=`
    does not override it. ELASTICSEARCH_COMPAT=plain-json selects this node class.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        plain = HttpHeaders(headers or {})
        for name in ("content-type", "accept"):
            if name in plain:
                plain[name] = plain[name].replace("vnd.elasticsearch+", "").split(";")[0]
        return super().perform_request(
            method, target, body=body, headers=plain, request_timeout=request_timeout
        )


def configured() -> bool:
    return bool(settings.ELASTICSEARCH_URL)


def client(timeout_s: float = 10.0) -> Elasticsearch:
    """The client for ELASTICSEARCH_URL (the only place one is built)."""
    if not settings.ELASTICSEARCH_URL:
        raise RuntimeError("ELASTICSEARCH_URL is not set")
    extra: dict[str, Any] = {}
    if settings.ELASTICSEARCH_COMPAT == "plain-json":
        extra["node_class"] = PlainJsonNode
    return Elasticsearch(settings.ELASTICSEARCH_URL, request_timeout=timeout_s, **extra)


def ensure_templates(es: Elasticsearch) -> None:
    """Create or update the index templates (new indices take their mappings from them)."""
    for name, properties in MAPPINGS.items():
        template: dict[str, Any] = {
            "settings": {"number_of_shards": 1},
            "mappings": {"dynamic": "strict", "properties": properties},
        }
        if name == HITS:
            template["aliases"] = {HITS: {}}
        es.indices.put_index_template(name=name, index_patterns=[PATTERNS[name]], template=template)
    for name in (EXPOSURES, SHOWERS):  # single indices: made now, so they can be searched empty
        if not es.indices.exists(index=name):
            es.options(ignore_status=400).indices.create(index=name)  # 400: made meanwhile


def iso_nanos(t_ns: int) -> str:
    """Epoch ns as ISO 8601 UTC with all nine digits (what date_nanos reads exactly)."""
    moment = datetime.fromtimestamp(t_ns // NS_PER_S, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{t_ns % NS_PER_S:09d}Z"


def hit_index(t_ns: int) -> str:
    return f"{HITS}-{datetime.fromtimestamp(t_ns // NS_PER_S, UTC):%Y.%m}"


def hit_action(row: dict[str, Any]) -> dict[str, Any]:
    """A bulk action for a hit (row: the Hit fields, id as hit_id)."""
    doc = {k: row[k] for k in MAPPINGS[HITS] if k in row and k not in ("time", "location")}
    doc["device_id"] = str(row["device_id"])
    doc["cell"] = cell_of(row["lat"], row["lon"])[0]  # the public map aggregates by it
    doc["time"] = iso_nanos(row["t_ns"])
    doc["location"] = {"lat": row["lat"], "lon": row["lon"]}
    return {
        "_index": hit_index(row["t_ns"]),
        "_id": f"{doc['device_id']}:{row['seq']}",
        "_source": doc,
    }


def block_action(row: dict[str, Any]) -> dict[str, Any]:
    """A bulk action for an exposure block (block ids are unique per device only)."""
    skip = ("start", "end", "location")
    doc = {k: row[k] for k in MAPPINGS[EXPOSURES] if k in row and k not in skip}
    doc["device_id"], doc["block_id"] = str(row["device_id"]), str(row["block_id"])
    doc["start"], doc["end"] = iso_nanos(row["start_ns"]), iso_nanos(row["end_ns"])
    doc["location"] = {"lat": row["lat"], "lon": row["lon"]}
    return {"_index": EXPOSURES, "_id": f"{doc['device_id']}:{doc['block_id']}", "_source": doc}


def shower_action(row: dict[str, Any]) -> dict[str, Any]:
    """A bulk action for a shower; location is the fitted core, else the centroid."""
    doc = {k: row[k] for k in ("shower_id", "provisional", *SHOWER_SCALARS)}
    doc["time"] = iso_nanos(row["t_ns"])
    core = (row["core_lat"], row["core_lon"])
    lat, lon = core if None not in core else (row["lat"], row["lon"])
    doc["location"] = {"lat": lat, "lon": lon}
    return {"_index": SHOWERS, "_id": row["shower_id"], "_source": doc}


def time_filters(params: Any) -> list[dict[str, Any]]:
    """Range filters of the since/until query parameters on the date_nanos field `time`.

    Not on the long t_ns: OpenSearch-compatible test servers compare longs as doubles.
    """
    out: list[dict[str, Any]] = []
    for name, op in (("since", "gte"), ("until", "lt")):
        if params.get(name):
            out.append({"range": {"time": {op: iso_nanos(query_time_ns(params[name], name))}}})
    return out


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    """A geo_bounding_box on `location`; one across the antimeridian becomes two."""
    if min_lon > max_lon:
        halves = [box(min_lon, min_lat, 180.0, max_lat), box(-180.0, min_lat, max_lon, max_lat)]
        return {"bool": {"should": halves, "minimum_should_match": 1}}
    corners = {
        "top_left": {"lat": max_lat, "lon": min_lon},
        "bottom_right": {"lat": min_lat, "lon": max_lon},
    }
    return {"geo_bounding_box": {"location": corners}}


def encode_cursor(values: list[Any]) -> str:
    """A page cursor: the last result's sort values, opaque to clients."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(text: str, name: str, n_values: int) -> list[Any]:
    """The sort values of a cursor from encode_cursor (CursorError naming `name` if not one)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, binascii.Error):
        raise CursorError({name: "is not a cursor this API gave"}) from None
    if not isinstance(values, list) or len(values) != n_values:
        raise CursorError({name: "is not a cursor this API gave"})
    return values
