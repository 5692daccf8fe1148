"""The showers list's filters (the pages and GET /api/v1/showers), with clear errors."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet

from api.query import QueryError, query_time_ns
from ingest.models import Shower


def filter_showers(params: Any) -> QuerySet[Shower]:
    """Showers filtered by since/until (ISO or ns), min_devices, min_sigma; newest first.

    Raises QueryError naming every bad parameter, one message each.
    """
    qs = Shower.objects.all()
    errors: dict[str, str] = {}
    for name, field in (("since", "t_ns__gte"), ("until", "t_ns__lt")):
        if params.get(name):
            try:
                qs = qs.filter(**{field: query_time_ns(params[name], name)})
            except QueryError as exc:
                errors |= exc.errors
    if params.get("min_devices"):
        try:
            qs = qs.filter(n_devices__gte=min_devices(params["min_devices"]))
        except QueryError as exc:
            errors |= exc.errors
    if params.get("min_sigma"):
        try:
            sigma = float(params["min_sigma"])
            if not math.isfinite(sigma):
                raise ValueError(sigma)  # noqa: TRY301 - one message for both
            qs = qs.filter(significance_sigma__gte=sigma)
        except ValueError:
            errors["min_sigma"] = "must be a finite number"
    if errors:
        raise QueryError(errors)
    return qs


MAX_DEVICES = 2**31 - 1  # the column's range


def min_devices(raw: str) -> int:
    """The min_devices filter: a whole number from 0 to MAX_DEVICES (raises QueryError)."""
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_DEVICES:
        raise QueryError({"min_devices": f"must be a whole number from 0 to {MAX_DEVICES}"})
    return value
