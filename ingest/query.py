"""Query-string filters on the database's rows (hits, exposure blocks), with clear errors."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from api.query import QueryError, parse_bbox, query_time_ns
from ingest.models import Hit


def filter_rows(queryset: QuerySet[Any], params: Any, start: str, end: str) -> QuerySet[Any]:
    """Rows whose [start, end] meets [since, until) and whose position is in bbox.

    Hits have one time (start = end = t_ns); exposure blocks a start and an end.
    """
    if "since" in params:
        since = query_time_ns(params["since"], "since")
        queryset = queryset.filter(
            **({f"{end}__gte": since} if start == end else {f"{end}__gt": since})
        )
    if "until" in params:
        queryset = queryset.filter(**{f"{start}__lt": query_time_ns(params["until"], "until")})
    return _in_place(queryset, params)


def filter_hits(queryset: QuerySet[Hit], params: Any) -> QuerySet[Hit]:
    return filter_rows(queryset, params, "t_ns", "t_ns")


def in_bbox(
    queryset: QuerySet[Any], min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> QuerySet[Any]:
    """Rows whose lat/lon lie in the box; min_lon > max_lon crosses the antimeridian."""
    queryset = queryset.filter(lat__gte=min_lat, lat__lte=max_lat)
    if min_lon <= max_lon:
        return queryset.filter(lon__gte=min_lon, lon__lte=max_lon)
    return queryset.filter(Q(lon__gte=min_lon) | Q(lon__lte=max_lon))


def _in_place(queryset: QuerySet[Any], params: Any) -> QuerySet[Any]:
    if "bbox" in params:
        queryset = in_bbox(queryset, *parse_bbox(params["bbox"]))
    if "device" in params:
        try:
            queryset = queryset.filter(device_id=uuid.UUID(params["device"]))
        except ValueError:
            raise QueryError({"device": "must be a device id (UUID)"}) from None
    return queryset
