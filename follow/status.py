"""The public status (GET /api/v1/status, the network page), computed by the follower.

Building it (a 1,440-minute series, up to 5,000 map cells, counters, the
latest showers) costs ~70 ms at 10^4 phones and ~0.3 s at 10^6, plus ~1.8 s to
merge 800,000 active cells into map squares (follow.cells; done once a
minute); a page view or an API call should not pay it. The
follower's `status` consumer writes it every CROWDRAY_STATUS_INTERVAL_S
seconds as the JSON reply, and requests read that one row. When the snapshot
is missing or older than a few intervals (no follower running), a request
computes the status itself: slower, never stale.

Everything here reads indexed queries and the follower's counters, never a
hits scan. With Elasticsearch configured the map's cells and the hits per
minute come from aggregations over the hits index instead (the counters when
it is down). Positions leave the server only as ~1 km cell centres, or means
of them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Q, Sum
from elasticsearch import ApiError, TransportError

from follow.cells import MAX_CELLS, Cell, MapCells, world
from follow.public import ShowerSummary, shower_summary
from follow.tail import Consumer
from ingest import es
from ingest.models import Device, Minute, Shower, StatusSnapshot
from vocab.cells import CELL_DEG, cell_centre
from vocab.times import iso_utc
from vocab.units import NS_PER_DAY, NS_PER_MIN, NS_PER_S

log = logging.getLogger(__name__)
ACTIVE_NS = 15 * NS_PER_MIN
DAY_MIN = 24 * 60


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
    cells_deg: float
    series: Series
    latest_showers: list[ShowerSummary]


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
    body: dict[str, Any] = {
        "size": 0,
        "query": {"range": {"time": time_range}},
        "aggs": {"minutes": {"date_histogram": histogram}},
    }
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


def compute(now_ns: int | None = None, map_cells: MapCells | None = None) -> Status:
    """The status now; map_cells, when given, are the map's cells (else computed)."""
    now_ns = now_ns or time.time_ns()
    this_min = now_ns // NS_PER_MIN
    day_ns = NS_PER_DAY
    midnight = now_ns // NS_PER_DAY * NS_PER_DAY // NS_PER_MIN
    hits_hour = Minute.objects.filter(minute__gt=this_min - 60, minute__lte=this_min)
    today = Minute.objects.filter(minute__gte=midnight, minute__lte=this_min)
    # The public sees showers, not chance: candidates below the threshold are not counted.
    showers = Shower.objects.filter(
        t_ns__lte=now_ns, significance_sigma__gte=settings.CROWDRAY_PUBLIC_MIN_SIGMA
    )
    return {
        "generated_at": iso_utc(now_ns),
        "devices_active": _active_devices(now_ns - ACTIVE_NS),
        "hits_last_hour": hits_hour.aggregate(n=Sum("hits"))["n"] or 0,
        "live_hours_today": round((today.aggregate(s=Sum("live_s"))["s"] or 0) / 3600, 2),
        "showers_24h": showers.filter(t_ns__gte=now_ns - day_ns).count(),
        "showers_7d": showers.filter(t_ns__gte=now_ns - 7 * day_ns).count(),
        **_activity(now_ns, map_cells),
        "latest_showers": [shower_summary(s) for s in showers.order_by("-t_ns")[:10]],
    }


def _active_devices(since_ns: int) -> int:
    """Phones with data, or an upload committed, since since_ns."""
    recent = Q(last_seen_ns__gte=since_ns) | Q(last_upload_ns__gte=since_ns)
    return Device.objects.filter(recent).count()


class Activity(TypedDict):
    cells: list[Cell]
    cells_deg: float
    series: Series


def _activity(now_ns: int, map_cells: MapCells | None) -> Activity:
    """The map's cells and the per-minute series: from the index when configured, else rollups.

    The index gives the MAX_CELLS busiest ~1 km cells (a terms aggregation); the
    rollups give every active cell, merged into squares where too many (follow.cells).
    """
    if es.configured():
        try:
            return {
                "cells": cells_from_index(now_ns - NS_PER_DAY),
                "cells_deg": CELL_DEG,
                "series": series_from_index(now_ns),
            }
        except (ApiError, TransportError) as exc:
            log.warning("status from the rollups: the index is unavailable (%s)", exc)
    shown = map_cells or world(now_ns - NS_PER_DAY)
    return {**shown, "series": series(now_ns)}


REUSE_MERGED_NS = 60 * NS_PER_S
STALE_INTERVALS = 4  # a snapshot this many intervals old is not used
MIN_STALE_S = 20.0


def write(now_ns: int | None = None, map_cells: MapCells | None = None) -> None:
    """Compute the status and store it as the current snapshot."""
    now_ns = now_ns or time.time_ns()
    body = json.dumps(compute(now_ns, map_cells), separators=(",", ":"))
    StatusSnapshot.objects.update_or_create(id=1, defaults={"generated_ns": now_ns, "body": body})


def fresh_json() -> str | None:
    """The follower's snapshot as JSON text while fresh; else None."""
    interval = settings.CROWDRAY_STATUS_INTERVAL_S
    if interval > 0:
        row = StatusSnapshot.objects.filter(id=1).values_list("generated_ns", "body").first()
        max_age_ns = max(MIN_STALE_S, STALE_INTERVALS * interval) * NS_PER_S
        if row is not None and time.time_ns() - row[0] <= max_age_ns:
            return str(row[1])
    return None


def current_json() -> str:
    """The status reply as JSON text: the follower's snapshot while fresh, else computed now."""
    body = fresh_json()
    if body is None:
        log.debug("status computed per request: no fresh snapshot from the follower")
        body = json.dumps(compute(), separators=(",", ":"))
    return body


def current() -> Status:
    """current_json() as a dict, for the pages."""
    status: Status = json.loads(current_json())
    return status


class StatusSnapshots(Consumer):
    """The follower's consumer that refreshes the status snapshot; it reads no rows.

    Merged map squares (more active cells than a page draws) are reused for
    REUSE_MERGED_NS: merging ~800,000 cells costs ~1.8 s, too much every 5 s.
    """

    name = "status"
    streams: dict[str, tuple[str, ...]] = {}

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self.merged: tuple[int, MapCells] | None = None

    def tick(self) -> None:
        now_ns = time.time_ns()
        if es.configured():  # the index's cells (the table's only while it is down)
            write(now_ns)
            return
        if self.merged is not None and now_ns - self.merged[0] < REUSE_MERGED_NS:
            write(now_ns, self.merged[1])
            return
        shown = world(now_ns - NS_PER_DAY)
        self.merged = (now_ns, shown) if shown["cells_deg"] > CELL_DEG else None
        write(now_ns, shown)

    def last_tick_ns(self) -> int | None:
        generated: int | None = (
            StatusSnapshot.objects.filter(id=1).values_list("generated_ns", flat=True).first()
        )
        return generated
