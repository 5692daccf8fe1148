"""The network map's cells: ~1 km cells active in 24 h, merged where there are too many.

A page draws at most MAX_CELLS markers. While the active cells number fewer, the
map shows each one. Beyond that (a million phones light ~800,000 cells), cells
are merged into squares of SQUARES_DEG degrees of latitude and longitude, the
smallest size that gives at most MAX_CELLS squares: the whole network stays on
the map, coarser. A square sits at the mean of its cells' centres (so a city's
square sits on the city) and carries their hits. Zoomed in, the map asks for the
cells of its view (`GET /api/v1/cells?bbox=`), merged by the view's size alone.

Positions never leave finer than the privacy cell: a square's centre is a mean
of public cell centres.
"""

from __future__ import annotations

import math
from typing import TypedDict

from django.db.models import Avg, F, QuerySet, Sum
from django.db.models.functions import Floor

from ingest.models import ActiveCell
from ingest.query import in_bbox
from vocab.cells import CELL_DEG

MAX_CELLS = 5000
SQUARES_DEG = (0.05, 0.2, 1.0, 5.0)  # 5°: 36 × 72 squares cover the globe, always few enough


class Cell(TypedDict):
    lat: float
    lon: float
    hits: int


class MapCells(TypedDict):
    cells: list[Cell]
    cells_deg: float  # CELL_DEG: the ~1 km cells themselves; larger: squares this many degrees


def busiest(cells: QuerySet[ActiveCell]) -> list[Cell]:
    """The cells themselves, the most hits first: at most MAX_CELLS + 1 (one too many)."""
    rows = cells.order_by("-hits", "cell").values_list("lat", "lon", "hits")[: MAX_CELLS + 1]
    return [{"lat": lat, "lon": lon, "hits": hits} for lat, lon, hits in rows]


def merged(cells: QuerySet[ActiveCell], deg: float) -> list[Cell]:
    """The cells summed in deg-degree squares, the most hits first: at most MAX_CELLS + 1."""
    squares = (
        cells.annotate(row=Floor((F("lat") + 90) / deg), col=Floor((F("lon") + 180) / deg))
        .values("row", "col")
        .annotate(mean_lat=Avg("lat"), mean_lon=Avg("lon"), total=Sum("hits"))
        .order_by("-total", "row", "col")
        .values_list("mean_lat", "mean_lon", "total")[: MAX_CELLS + 1]
    )
    return [
        {"lat": round(lat, 5), "lon": round(lon, 5), "hits": int(hits)}
        for lat, lon, hits in squares
    ]


def at_size(cells: QuerySet[ActiveCell], deg: float) -> list[Cell]:
    return busiest(cells) if deg <= CELL_DEG else merged(cells, deg)


def smallest(cells: QuerySet[ActiveCell]) -> MapCells:
    """The cells themselves, or merged in the smallest squares that number <= MAX_CELLS."""
    sizes = (CELL_DEG, *SQUARES_DEG)
    for deg in sizes:
        shown = at_size(cells, deg)
        if len(shown) <= MAX_CELLS or deg == sizes[-1]:
            break
    return {"cells": shown[:MAX_CELLS], "cells_deg": deg}


def world(since_ns: int) -> MapCells:
    """The whole map: the cells active since since_ns, merged as far as needed."""
    return smallest(ActiveCell.objects.filter(last_seen_ns__gte=since_ns))


def view_deg(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> float:
    """The map's cell size for a view: the smallest whose squares in it number <= MAX_CELLS.

    Decided by the view alone (not the data), so a request costs about the cells
    in its view. A ~1 km cell spans CELL_DEG / cos(lat) of longitude.
    """
    lat_span = max_lat - min_lat
    lon_span = (max_lon - min_lon) % 360 or (360.0 if min_lon != max_lon else 0.0)
    equator_most = 0.0 if min_lat <= 0 <= max_lat else min(abs(min_lat), abs(max_lat))
    width = math.cos(math.radians(equator_most))
    if (lat_span / CELL_DEG + 1) * (lon_span * width / CELL_DEG + 1) <= MAX_CELLS:
        return CELL_DEG
    for deg in SQUARES_DEG:
        if (lat_span / deg + 2) * (lon_span / deg + 2) <= MAX_CELLS:
            return deg
    return SQUARES_DEG[-1]


def in_view(
    since_ns: int, min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> MapCells:
    """The cells active since since_ns in a view (min_lon > max_lon crosses ±180°).

    At the view's size (view_deg); should the ~1 km cells in it still number more
    than MAX_CELLS (a view near a pole), the busiest MAX_CELLS.
    """
    active = ActiveCell.objects.filter(last_seen_ns__gte=since_ns)
    cells = in_bbox(active, min_lon, min_lat, max_lon, max_lat)
    deg = view_deg(min_lon, min_lat, max_lon, max_lat)
    return {"cells": at_size(cells, deg)[:MAX_CELLS], "cells_deg": deg}


def within(
    cells: list[Cell], min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> list[Cell]:
    """The cells of a list in a view (min_lon > max_lon crosses ±180°)."""
    crosses = min_lon > max_lon
    return [
        c
        for c in cells
        if min_lat <= c["lat"] <= max_lat
        and (
            (c["lon"] >= min_lon or c["lon"] <= max_lon)
            if crosses
            else min_lon <= c["lon"] <= max_lon
        )
    ]
