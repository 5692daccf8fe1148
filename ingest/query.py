"""Query-string filters shared by the API and the pages, with clear errors.

Parsers raise QueryError ({parameter: message}); the API answers it with 400
(crowdray.api_errors) and the pages show the messages next to the form.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from ingest.models import Hit
from vocab.times import TimeFormatError, parse_time_ns


class QueryError(ValueError):
    """Bad query parameters: one message per parameter."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def query_time_ns(value: str, name: str) -> int:
    """The query parameter `name`: an ISO 8601 time or integer UTC epoch nanoseconds."""
    try:
        return parse_time_ns(value)
    except TimeFormatError:
        raise QueryError({name: "must be an ISO 8601 time or UTC epoch nanoseconds"}) from None


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """min_lon,min_lat,max_lon,max_lat in degrees."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in value.split(","))
    except ValueError:
        raise QueryError(
            {"bbox": "must be four numbers: min_lon,min_lat,max_lon,max_lat"}
        ) from None
    if not (-90 <= min_lat <= max_lat <= 90):
        raise QueryError({"bbox": "latitudes must satisfy -90 <= min_lat <= max_lat <= 90"})
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise QueryError({"bbox": "longitudes must be between -180 and 180"})
    return min_lon, min_lat, max_lon, max_lat


def filter_hits(queryset: QuerySet[Hit], params: Any) -> QuerySet[Hit]:
    if "since" in params:
        queryset = queryset.filter(t_ns__gte=query_time_ns(params["since"], "since"))
    if "until" in params:
        queryset = queryset.filter(t_ns__lt=query_time_ns(params["until"], "until"))
    if "bbox" in params:
        min_lon, min_lat, max_lon, max_lat = parse_bbox(params["bbox"])
        queryset = queryset.filter(lat__gte=min_lat, lat__lte=max_lat)
        if min_lon <= max_lon:
            queryset = queryset.filter(lon__gte=min_lon, lon__lte=max_lon)
        else:  # the box crosses the antimeridian
            queryset = queryset.filter(Q(lon__gte=min_lon) | Q(lon__lte=max_lon))
    if "device" in params:
        try:
            queryset = queryset.filter(device_id=uuid.UUID(params["device"]))
        except ValueError:
            raise QueryError({"device": "must be a device id (UUID)"}) from None
    return queryset
