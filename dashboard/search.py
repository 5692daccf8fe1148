"""GET /api/v1/showers/search: showers by time, significance, size, energy and place.

Served from the crowdray-showers index (ingest.es) when ELASTICSEARCH_URL is
set, else (or while the index is down) from the database (dashboard.search_db),
with the same reply; the X-Search-Backend header says which answered. Replies
carry the public shower summaries of /api/v1/showers (the core only as its
~1 km cell) and a `next` link that continues after the last result
(search_after), so paging never skips or repeats a shower. On the index, times
are filtered and sorted on the date_nanos field: exact to the nanosecond on
Elasticsearch and on OpenSearch-compatible servers alike.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from elasticsearch import ApiError, TransportError
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api import openapi
from api.query import QueryError, page_size, parse_bbox, refuse_empty
from dashboard import queries, search_db
from dashboard.api import SHOWER_FILTERS, PublicView, ShowerOut
from follow import public
from ingest import es
from ingest.models import Shower
from ingest.schema import problems

SORTS = {
    "time": [{"time": "desc"}, {"shower_id": "asc"}],
    "significance": [{"significance_sigma": "desc"}, {"shower_id": "asc"}],
}
PAGE, MAX_PAGE = 50, 500
log = logging.getLogger(__name__)


def _number(params: Any, name: str) -> float | None:
    if not params.get(name):
        return None
    try:
        value = float(params[name])
    except ValueError:
        raise QueryError({name: "must be a number"}) from None
    if not math.isfinite(value):
        raise QueryError({name: "must be a finite number"})
    return value


def _ranges(params: Any) -> list[dict[str, Any]]:
    out = es.time_filters(params)
    sigma = _number(params, "min_sigma")
    if sigma is not None:
        out.append({"range": {"significance_sigma": {"gte": sigma}}})
    if params.get("min_devices"):
        devices = queries.min_devices(params["min_devices"])
        out.append({"range": {"n_devices": {"gte": devices}}})
    energy = _number(params, "min_energy")
    if energy is not None:
        if energy <= 0:
            raise QueryError({"min_energy": "must be positive, in eV (e.g. 1e19)"})
        out.append({"range": {"log10_energy_ev": {"gte": math.log10(energy)}}})
    return out


def _places(params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if params.get("bbox"):
        out.append(es.box(*parse_bbox(str(params["bbox"]))))
    if params.get("near") or params.get("within_km"):
        try:
            lat, lon = (float(v) for v in params.get("near", "").split(","))
            km = float(params.get("within_km", ""))
        except ValueError:
            raise QueryError({"near": "near=lat,lon needs within_km=<km> (numbers)"}) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20_000):
            raise QueryError(
                {"near": "lat in [-90, 90], lon in [-180, 180], within_km in (0, 20000]"}
            )
        out.append({"geo_distance": {"distance": f"{km}km", "location": {"lat": lat, "lon": lon}}})
    return out


def search_request(params: Any) -> dict[str, Any]:
    """The Elasticsearch search of the query parameters (raises QueryError on a bad one)."""
    refuse_empty(params)
    sort = params.get("sort", "time")
    if sort not in SORTS:
        raise QueryError({"sort": "must be time or significance"})
    size = page_size(params, MAX_PAGE, PAGE)
    body: dict[str, Any] = {
        "query": {"bool": {"filter": _ranges(params) + _places(params)}},
        "sort": SORTS[sort],
        "size": int(size),
    }
    if params.get("after"):
        body["search_after"] = es.decode_cursor(str(params["after"]), "after", 2)
    return body


def _summary(source: dict[str, Any]) -> public.ShowerSummary:
    fields = {f.name: source.get(f.name) for f in Shower._meta.concrete_fields if f.name in source}
    return public.shower_summary(Shower(**fields))


class SearchPage(serializers.Serializer[Any]):
    results = ShowerOut(many=True)
    next = serializers.URLField(allow_null=True, help_text="the next page, or null at the end")


class ShowerSearchView(PublicView):
    @extend_schema(
        responses={200: SearchPage, **problems(400, 404, 405, 429)},
        summary="Search showers by time, significance, size, energy and place (public)",
        parameters=[
            *SHOWER_FILTERS,
            OpenApiParameter(
                "min_energy", openapi.positive_number(), description="eV above 0, e.g. 1e19"
            ),
            OpenApiParameter("bbox", openapi.BBOX, description=openapi.BBOX_HELP),
            OpenApiParameter("near", openapi.NEAR, description="lat,lon; needs within_km"),
            OpenApiParameter(
                "within_km",
                {**openapi.positive_number(), "maximum": 20_000},
                description="km from near, above 0 and at most 20000; needs near",
            ),
            OpenApiParameter("sort", str, enum=list(SORTS), description="default time"),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                description=f"1 to {MAX_PAGE}, default {PAGE}",
            ),
            OpenApiParameter(
                "after", openapi.TOKEN, description="the cursor of the previous page's next"
            ),
            OpenApiParameter(
                "X-Search-Backend",
                str,
                OpenApiParameter.HEADER,
                enum=["elasticsearch", "database"],
                description="which backend answered: the index, or the database without it",
                response=[200],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        body = search_request(request.query_params)
        if es.configured():
            try:
                reply = es.client().search(index=es.SHOWERS, ignore_unavailable=True, **body)
            except (ApiError, TransportError) as exc:
                log.warning(
                    "showers search: the index is unavailable (%s); using the database", exc
                )
            else:
                return self._index_page(request, body, reply["hits"]["hits"])
        sort = request.query_params.get("sort", "time")
        showers, cursor = search_db.search(request.query_params, body["size"], sort)
        results = [public.shower_summary(s) for s in showers]
        return _page(request, results, cursor, "database")

    def _index_page(self, request: Request, body: dict[str, Any], hits: list[Any]) -> Response:
        cursor = es.encode_cursor(hits[-1]["sort"]) if len(hits) == body["size"] else None
        results = [_summary(h["_source"]) for h in hits]
        return _page(request, results, cursor, "elasticsearch")


def _page(request: Request, results: list[Any], cursor: str | None, backend: str) -> Response:
    """The reply either backend gives; X-Search-Backend says which answered."""
    following = None
    if cursor is not None:
        query = request.query_params.copy()
        query["after"] = cursor
        following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    reply = Response({"results": results, "next": following})
    reply["X-Search-Backend"] = backend
    return reply
