"""GET /api/v1/showers/search on the database: without Elasticsearch, or while it is down.

The same filters, sorts and public summaries as the index (dashboard.search), on
the shower table: the place filters use the fitted core, else the centroid, as
the index's `location` does. Pages continue after the last result's sort values
(a cursor of this backend, not the index's).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from api.query import CursorError, parse_bbox
from coincidence.geo import haversine_m
from dashboard import queries
from ingest import es
from ingest.models import Shower

KM_PER_DEG_LAT = 111.195
ORDER = {"time": ("-t_ns", "shower_id"), "significance": ("-significance_sigma", "shower_id")}
KEY = {"time": "t_ns", "significance": "significance_sigma"}


def search(params: Any, size: int, sort: str) -> tuple[list[Shower], str | None]:
    """One page of showers matching params (validated by dashboard.search), and the next cursor."""
    qs = _filtered(params).order_by(*ORDER[sort])
    if params.get("after"):
        value, last_id = es.decode_cursor(str(params["after"]), "after", 2)
        if not isinstance(value, int | float) or not isinstance(last_id, str):
            raise CursorError({"after": "is not a cursor this API gave"})
        key = KEY[sort]
        qs = qs.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "shower_id__gt": last_id}))
    near = _near(params)
    page = []
    for shower in _chunks(qs):
        if near is None or _within(shower, *near):
            page.append(shower)
            if len(page) == size:
                break
    if len(page) < size:
        return page, None
    last = page[-1]
    return page, es.encode_cursor([getattr(last, KEY[sort]), last.shower_id])


def _filtered(params: Any) -> QuerySet[Shower]:
    qs = queries.filter_showers(params).annotate(
        loc_lat=Coalesce("core_lat", "lat"), loc_lon=Coalesce("core_lon", "lon")
    )
    if params.get("min_energy"):
        qs = qs.filter(log10_energy_ev__gte=math.log10(float(params["min_energy"])))
    if params.get("bbox"):
        min_lon, min_lat, max_lon, max_lat = parse_bbox(str(params["bbox"]))
        qs = qs.filter(loc_lat__gte=min_lat, loc_lat__lte=max_lat)
        if min_lon <= max_lon:
            qs = qs.filter(loc_lon__gte=min_lon, loc_lon__lte=max_lon)
        else:  # across the antimeridian
            qs = qs.filter(Q(loc_lon__gte=min_lon) | Q(loc_lon__lte=max_lon))
    near = _near(params)
    if near is not None:  # a latitude band in SQL, the distance in Python
        lat, _, km = near
        band = km / KM_PER_DEG_LAT
        qs = qs.filter(loc_lat__gte=lat - band, loc_lat__lte=lat + band)
    return qs


def _near(params: Any) -> tuple[float, float, float] | None:
    if not params.get("near"):
        return None
    lat, lon = (float(v) for v in str(params["near"]).split(","))
    return lat, lon, float(params["within_km"])


def _within(shower: Any, lat: float, lon: float, km: float) -> bool:
    distance = haversine_m(shower.loc_lat, shower.loc_lon, lat, lon)
    return bool(distance <= km * 1000)


def _chunks(qs: QuerySet[Shower], step: int = 500) -> Iterator[Any]:
    start = 0
    while True:
        rows = list(qs[start : start + step])
        yield from rows
        if len(rows) < step:
            return
        start += step
