"""Query-string filters of the researchers' hit listing, with clear errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError


def parse_time_ns(value: str, name: str) -> int:
    """An ISO 8601 time (naive means UTC) or an integer of UTC epoch nanoseconds."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError({name: "must be an ISO 8601 time or UTC epoch nanoseconds"}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + moment.microsecond * 1000


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """min_lon,min_lat,max_lon,max_lat in degrees."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in value.split(","))
    except ValueError:
        raise ValidationError(
            {"bbox": "must be four numbers: min_lon,min_lat,max_lon,max_lat"}
        ) from None
    if not (-90 <= min_lat <= max_lat <= 90):
        raise ValidationError({"bbox": "latitudes must satisfy -90 <= min_lat <= max_lat <= 90"})
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise ValidationError({"bbox": "longitudes must be between -180 and 180"})
    return min_lon, min_lat, max_lon, max_lat


def filter_hits(queryset: QuerySet, params: Any) -> QuerySet:
    if "since" in params:
        queryset = queryset.filter(t_ns__gte=parse_time_ns(params["since"], "since"))
    if "until" in params:
        queryset = queryset.filter(t_ns__lt=parse_time_ns(params["until"], "until"))
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
            raise ValidationError({"device": "must be a device id (UUID)"}) from None
    return queryset
