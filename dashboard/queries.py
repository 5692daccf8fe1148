"""What the public sees, from indexed queries and the follower's counters (never a hits scan).

With Elasticsearch configured the map's cells and the hits per minute come from
aggregations over the hits index instead (the rollups when it is down).

Positions leave the server only as ~1 km cell centres (vocab.cells.cell_of).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, TypedDict

from django.db.models import Q, QuerySet, Sum
from elasticsearch import ApiError, TransportError

from dashboard import explain
from ingest import es
from ingest.models import ActiveCell, Device, Minute, Shower
from ingest.query import QueryError, query_time_ns
from vocab.cells import cell_centre, cell_of
from vocab.times import iso_utc
from vocab.units import NS_PER_DAY, NS_PER_MIN, NS_PER_S

log = logging.getLogger(__name__)
ACTIVE_NS = 15 * NS_PER_MIN
DAY_MIN = 24 * 60


class ShowerSummary(TypedDict):
    """A shower as the public sees it (lists, the status reply, the shower page)."""

    shower_id: str
    t_ns: int
    time: str
    n_devices: int
    n_hits: int
    significance_sigma: float
    expected_background: float
    lat: float
    lon: float
    log10_energy_ev: float | None
    log10_energy_err: float | None
    provisional: bool
    place: str


class Cell(TypedDict):
    lat: float
    lon: float
    hits: int


class Series(TypedDict):
    minutes: list[int]
    hits: list[int]
    devices: list[int]


class Status(TypedDict):
    """GET /api/v1/status and the network page."""

    generated_at: str
    devices_active: int
    hits_last_hour: int
    live_hours_today: float
    showers_24h: int
    showers_7d: int
    cells: list[Cell]
    series: Series
    latest_showers: list[ShowerSummary]


def public_core(shower: Shower) -> tuple[float, float]:
    """A shower's core (fitted, else the centroid) as the centre of its ~1 km cell."""
    core_lat, core_lon = shower.core_lat, shower.core_lon
    if core_lat is None or core_lon is None:
        core_lat, core_lon = shower.lat, shower.lon
    _, lat, lon = cell_of(core_lat, core_lon)
    return lat, lon


def shower_summary(shower: Shower) -> ShowerSummary:
    """A shower for the public: its core only as a cell centre."""
    lat, lon = public_core(shower)
    return {
        "shower_id": shower.shower_id,
        "t_ns": shower.t_ns,
        "time": iso_utc(shower.t_ns),
        "n_devices": shower.n_devices,
        "n_hits": shower.n_hits,
        "significance_sigma": round(shower.significance_sigma, 2),
        "expected_background": shower.expected_background,
        "lat": lat,
        "lon": lon,
        "log10_energy_ev": _rounded(shower.log10_energy_ev, 2),
        "log10_energy_err": _rounded(shower.log10_energy_err, 2),
        "provisional": shower.provisional,
        "place": explain.place(lat, lon),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


MAX_CELLS = 5000


def cells(since_ns: int) -> list[Cell]:
    """Cells with hits since since_ns, the most hits first, at most MAX_CELLS.

    Busiest first, so that a flood of one-hit cells cannot push a real
    volunteer's cell off the map.
    """
    rows = ActiveCell.objects.filter(last_seen_ns__gte=since_ns).order_by("-hits", "cell")
    return [{"lat": r.lat, "lon": r.lon, "hits": r.hits} for r in rows[:MAX_CELLS]]


def cells_from_index(since_ns: int) -> list[Cell]:
    """_cells from Elasticsearch: hits since since_ns per privacy cell (a terms aggregation)."""
    terms = {"field": "cell", "size": MAX_CELLS, "order": [{"_count": "desc"}, {"_key": "asc"}]}
    recent = {"range": {"time": {"gte": es.iso_nanos(since_ns)}}}
    body: dict[str, Any] = {"size": 0, "aggs": {"cells": {"terms": terms}}, "query": recent}
    reply = es.client().search(index=es.HITS, ignore_unavailable=True, **body)
    buckets = reply.get("aggregations", {}).get("cells", {}).get("buckets", [])
    out: list[Cell] = []
    for b in buckets:
        lat, lon = cell_centre(b["key"])
        out.append({"lat": lat, "lon": lon, "hits": b["doc_count"]})
    return out


def series_from_index(now_ns: int) -> Series:
    """series() with the hits per minute from Elasticsearch (a date_histogram).

    Active phones stay the follower's count: a phone is active by its exposure
    blocks too, which a histogram of hits cannot see.
    """
    out = series(now_ns)
    first, last = out["minutes"][0] * NS_PER_S, (out["minutes"][-1] + 60) * NS_PER_S
    time_range = {"gte": es.iso_nanos(first), "lt": es.iso_nanos(last)}
    histogram = {"field": "time", "fixed_interval": "1m", "min_doc_count": 1}
    body: dict[str, Any] = {"size": 0, "query": {"range": {"time": time_range}},
                            "aggs": {"minutes": {"date_histogram": histogram}}}  # fmt: skip
    reply = es.client().search(index=es.HITS, ignore_unavailable=True, **body)
    buckets = reply.get("aggregations", {}).get("minutes", {}).get("buckets", [])
    hits = {int(b["key"]) // 1000: int(b["doc_count"]) for b in buckets}  # keys: epoch ms
    out["hits"] = [hits.get(m, 0) for m in out["minutes"]]
    return out


def series(now_ns: int) -> Series:
    """Hits and active devices per minute over the last 24 hours (zeros filled in)."""
    last = now_ns // NS_PER_MIN
    first = last - DAY_MIN + 1
    rows = {m.minute: m for m in Minute.objects.filter(minute__gte=first, minute__lte=last)}
    minutes = range(first, last + 1)
    return {
        "minutes": [m * 60 for m in minutes],
        "hits": [rows[m].hits if m in rows else 0 for m in minutes],
        "devices": [rows[m].devices if m in rows else 0 for m in minutes],
    }


def status(now_ns: int | None = None) -> Status:
    now_ns = now_ns or time.time_ns()
    this_min = now_ns // NS_PER_MIN
    day_ns = NS_PER_DAY
    midnight = now_ns // NS_PER_DAY * NS_PER_DAY // NS_PER_MIN
    hits_hour = Minute.objects.filter(minute__gt=this_min - 60, minute__lte=this_min)
    today = Minute.objects.filter(minute__gte=midnight, minute__lte=this_min)
    showers = Shower.objects.filter(t_ns__lte=now_ns)
    return {
        "generated_at": iso_utc(now_ns),
        "devices_active": _active_devices(now_ns - ACTIVE_NS),
        "hits_last_hour": hits_hour.aggregate(n=Sum("hits"))["n"] or 0,
        "live_hours_today": round((today.aggregate(s=Sum("live_s"))["s"] or 0) / 3600, 2),
        "showers_24h": showers.filter(t_ns__gte=now_ns - day_ns).count(),
        "showers_7d": showers.filter(t_ns__gte=now_ns - 7 * day_ns).count(),
        **_activity(now_ns),
        "latest_showers": [shower_summary(s) for s in showers.order_by("-t_ns")[:10]],
    }


def _active_devices(since_ns: int) -> int:
    """Phones with data, or an upload committed, since since_ns."""
    recent = Q(last_seen_ns__gte=since_ns) | Q(last_upload_ns__gte=since_ns)
    return Device.objects.filter(recent).count()


class Activity(TypedDict):
    cells: list[Cell]
    series: Series


def _activity(now_ns: int) -> Activity:
    """The map's cells and the per-minute series: from the index when configured, else rollups."""
    if es.configured():
        try:
            return {"cells": cells_from_index(now_ns - NS_PER_DAY),
                    "series": series_from_index(now_ns)}  # fmt: skip
        except (ApiError, TransportError) as exc:
            log.warning("status from the rollups: the index is unavailable (%s)", exc)
    return {"cells": cells(now_ns - NS_PER_DAY), "series": series(now_ns)}


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
