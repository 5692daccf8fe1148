"""The public, read-only API: the status (the follower's snapshot) and showers, throttled."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any, TypedDict

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_page
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import openapi
from api.problems import MethodsFirst
from api.query import QueryError, page_size, parse_bbox, refuse_empty
from coincidence.geo import M_PER_DEG, haversine_m
from coincidence.params import Params
from coincidence.reconstruct import hit_reach_m
from dashboard import queries
from follow import cells as map_cells
from follow import public
from follow import status as snapshot
from follow.cells import MAX_CELLS
from ingest import near
from ingest.auth import AddressThrottle
from ingest.days import left_for_lake
from ingest.models import ExposureBlock, Hit, Shower
from ingest.schema import problems
from vocab.cells import CELL_DEG, cell_key, cells_of
from vocab.units import NS_PER_DAY


def cached(view: type) -> type:
    """Reuse GET replies for CROWDRAY_STATUS_CACHE_S seconds (read when the app loads)."""
    seconds = settings.CROWDRAY_STATUS_CACHE_S
    return method_decorator(cache_page(seconds), name="get")(view) if seconds > 0 else view


class PublicThrottle(AddressThrottle):
    scope = "public"
    rate_setting = "CROWDRAY_PUBLIC_RATE"


class ShowerOut(serializers.Serializer[Any]):
    shower_id = serializers.CharField()
    t_ns = serializers.IntegerField()
    time = serializers.CharField()
    n_devices = serializers.IntegerField(help_text="phones in the whole shower")
    n_hits = serializers.IntegerField(help_text="hits in the whole shower")
    n_core_devices = serializers.IntegerField(
        help_text="phones in its compact core, the part whose significance is given"
    )
    significance_sigma = serializers.FloatField()
    expected_background = serializers.FloatField()
    lat = serializers.FloatField(help_text="core, as the centre of its ~1 km cell")
    lon = serializers.FloatField(help_text="core, as the centre of its ~1 km cell")
    log10_energy_ev = serializers.FloatField(
        allow_null=True, help_text="fitted energy, log10 eV; null when not fitted"
    )
    log10_energy_err = serializers.FloatField(allow_null=True, help_text="1 sigma, in log10 E")
    provisional = serializers.BooleanField(
        help_text="found by the live search while data arrive; a batch search replaces it"
    )
    is_shower = serializers.BooleanField(
        help_text="significance at least CROWDRAY_PUBLIC_MIN_SIGMA (default 5): a shower on "
        "the public pages; false: a candidate, listed here but not counted there"
    )
    place = serializers.CharField(
        help_text="the nearest town (offline GeoNames gazetteer), e.g. 'near Kraków, Poland'"
    )


class CellOut(serializers.Serializer[Any]):
    lat = serializers.FloatField(help_text="cell centre")
    lon = serializers.FloatField(help_text="cell centre")
    hits = serializers.IntegerField()


class PhoneCellOut(serializers.Serializer[Any]):
    lat = serializers.FloatField(help_text="cell centre")
    lon = serializers.FloatField(help_text="cell centre")
    phones = serializers.IntegerField()


class SearchInfoOut(serializers.Serializer[Any]):
    params = serializers.DictField(help_text="the search's parameters (window_ns, radius_m, ...)")
    since_ns = serializers.IntegerField(allow_null=True)
    until_ns = serializers.IntegerField(allow_null=True)
    run_at = serializers.CharField(help_text="ISO 8601, UTC")


class ShowerDetailOut(ShowerOut):
    t_spread_ns = serializers.IntegerField(help_text="last member hit minus first, ns")
    radius_m = serializers.FloatField()
    member_cells = CellOut(many=True, help_text="~1 km cells of the member hits")
    silent_cells = PhoneCellOut(many=True, help_text="~1 km cells of live phones that did not fire")
    time_profile_ms = serializers.ListField(
        child=serializers.FloatField(), help_text="member hit times minus the shower's, ms"
    )
    archived = serializers.BooleanField(
        help_text="its hits' day left the database for the lake (CROWDRAY_DB_RETENTION_DAYS): "
        "the cells and the time profile are empty"
    )
    search = SearchInfoOut()


class SeriesOut(serializers.Serializer[Any]):
    minutes = serializers.ListField(child=serializers.IntegerField(), help_text="epoch s")
    hits = serializers.ListField(child=serializers.IntegerField())
    devices = serializers.ListField(child=serializers.IntegerField(), help_text="phones active")


class StatusOut(serializers.Serializer[Any]):
    generated_at = serializers.CharField()
    devices_active = serializers.IntegerField(
        help_text="phones with a hit, an exposure or an upload in the last 15 min"
    )
    hits_last_hour = serializers.IntegerField()
    live_hours_today = serializers.FloatField()
    showers_24h = serializers.IntegerField()
    showers_7d = serializers.IntegerField()
    cells = CellOut(
        many=True,
        help_text="~1 km cells with hits in the last 24 h, the busiest first; beyond "
        f"{MAX_CELLS:,} cells, squares of cells_deg degrees (mean of their cells' centres, "
        "sum of their hits)",
    )
    cells_deg = serializers.FloatField(
        help_text=f"{CELL_DEG}: the cells are the ~1 km cells; larger: the side of the squares"
    )
    series = SeriesOut(help_text="per minute over the last 24 h")
    latest_showers = ShowerOut(many=True)


class ShowerPage(serializers.Serializer[Any]):
    next = serializers.URLField(allow_null=True, help_text="the next page, or null at the end")
    previous = serializers.URLField(allow_null=True)
    results = ShowerOut(many=True)


class PublicView(MethodsFirst, APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicThrottle]


class StatusView(PublicView):
    @extend_schema(
        responses={200: StatusOut, **problems(405, 429)}, summary="The network now (public)"
    )
    def get(self, request: Request) -> HttpResponse:
        # The follower's snapshot is already the JSON reply: sent as it is.
        return HttpResponse(snapshot.current_json(), content_type="application/json")


SHOWER_FILTERS = [
    OpenApiParameter("since", openapi.TIME, description=f"inclusive: {openapi.TIME_HELP}"),
    OpenApiParameter(
        "until", openapi.TIME, description=f"exclusive, after since: {openapi.TIME_HELP}"
    ),
    OpenApiParameter("min_devices", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
    OpenApiParameter("min_sigma", float),
]


class ShowerCursor(CursorPagination):
    ordering = ("-t_ns", "shower_id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@cached
class ShowerListView(PublicView):
    @extend_schema(
        responses={200: ShowerPage, **problems(400, 404, 405, 429)},
        operation_id="v1_showers_list",
        summary="Shower candidates, newest first (public)",
        parameters=[
            *SHOWER_FILTERS,
            OpenApiParameter(
                "cursor", openapi.TOKEN, description="the cursor of the previous page's next"
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": ShowerCursor.max_page_size},
                description=f"1 to {ShowerCursor.max_page_size}, default {ShowerCursor.page_size}",
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        refuse_empty(request.query_params)
        page_size(request.query_params, ShowerCursor.max_page_size, ShowerCursor.page_size)
        paginator = ShowerCursor()
        page = (
            paginator.paginate_queryset(queries.filter_showers(request.query_params), request, self)
            or []
        )
        return paginator.get_paginated_response([public.shower_summary(s) for s in page])


class SearchInfo(TypedDict):
    params: dict[str, Any]
    since_ns: int | None
    until_ns: int | None
    run_at: str


class PhoneCell(TypedDict):
    """A ~1 km cell (its centre) and how many phones in it."""

    lat: float
    lon: float
    phones: int


class ShowerDetail(public.ShowerSummary):
    """GET /api/v1/showers/<id> and the shower page."""

    t_spread_ns: int
    radius_m: float
    member_cells: list[map_cells.Cell]
    silent_cells: list[PhoneCell]
    time_profile_ms: list[float]
    archived: bool
    search: SearchInfo


def _cells(points: list[tuple[float, float]]) -> list[map_cells.Cell]:
    """Points counted per ~1 km cell, as cell centres, in the order of the cells' keys."""
    if not points:
        return []
    lat, lon = np.array(points, dtype=np.float64).T
    keys, clat, clon = cells_of(lat, lon)
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    cells = {
        cell_key(int(keys[i])): map_cells.Cell(lat=float(clat[i]), lon=float(clon[i]), hits=int(n))
        for i, n in zip(first, counts, strict=True)
    }
    return [cells[k] for k in sorted(cells)]


def _within(
    rows: Iterable[tuple[Any, float, float]], lat: float, lon: float, radius_m: float
) -> list[tuple[Any, float, float]]:
    """The (device, lat, lon) rows within radius_m of (lat, lon)."""
    rows = list(rows)
    if not rows:
        return []
    at = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
    inside = haversine_m(lat, lon, at[:, 0], at[:, 1]) <= radius_m
    return [row for row, keep in zip(rows, inside, strict=True) if keep]


def silent_phones(shower: Shower, fired: set[Any]) -> list[tuple[float, float]]:
    """Phones taking data at the shower's time within its search radius that did not fire.

    As in the fit (coincidence.reconstruct), a phone with a hit within one window of
    the shower's time, and within hit_reach_m of it, fired, member or not.
    """
    radius = float(shower.search.params.get("radius_m", Params.radius_m))
    window = round(float(shower.search.params.get("window_ms", Params.window_ms)) * 1e6)
    reach = hit_reach_m(radius, radius)
    near_in_time = Hit.objects.filter(
        t_ns__gte=shower.t_ns - window,
        t_ns__lte=shower.t_ns + window,
        lat__gte=shower.lat - reach / M_PER_DEG,
        lat__lte=shower.lat + reach / M_PER_DEG,
    ).values_list("device_id", "lat", "lon")
    fired = fired | {row[0] for row in _within(near_in_time, shower.lat, shower.lon, reach)}
    live = (
        live_blocks_near(shower.t_ns, shower.lat, shower.lon, radius)
        .exclude(device_id__in=fired)
        .values_list("device_id", "lat", "lon")
    )
    seen: dict[Any, tuple[float, float]] = {}
    for device, lat, lon in _within(live, shower.lat, shower.lon, radius):
        seen.setdefault(device, (lat, lon))
    return list(seen.values())


def live_blocks_near(t_ns: int, lat: float, lon: float, radius_m: float) -> QuerySet[Any]:
    """Blocks taking data at t_ns in the squares round (lat, lon); haversine decides within."""
    rows, columns = near.squares_near(lat, lon, radius_m)
    blocks = ExposureBlock.objects.annotate(row=near.lat_square(), column=near.lon_square())
    blocks = blocks.filter(near.overlapping(t_ns, t_ns + 1), row__in=rows)
    return blocks if columns is None else blocks.filter(column__in=columns)


def shower_detail(shower: Shower) -> ShowerDetail:
    # A shower outlives its hits' day in the database: say so rather than show it empty.
    archived = left_for_lake(Hit, shower.member_span()[0])
    members, silent = [], []
    if not archived:
        members = list(shower.members().values_list("device_id", "t_ns", "lat", "lon"))
        silent = silent_phones(shower, {m[0] for m in members})
    search = shower.search
    return {
        **public.shower_summary(shower),
        "t_spread_ns": shower.t_spread_ns,
        "radius_m": round(shower.radius_m, 1),
        "member_cells": _cells([(m[2], m[3]) for m in members]),
        "silent_cells": [
            {"lat": c["lat"], "lon": c["lon"], "phones": c["hits"]} for c in _cells(silent)
        ],
        "time_profile_ms": sorted(round((m[1] - shower.t_ns) / 1e6, 1) for m in members),
        "archived": archived,
        "search": {
            "params": search.params,
            "since_ns": search.since_ns,
            "until_ns": search.until_ns,
            "run_at": search.created_at.isoformat(),
        },
    }


@cached
class ShowerDetailView(PublicView):
    @extend_schema(
        responses={200: ShowerDetailOut, **problems(404, 405, 429)},
        summary="One shower candidate with its member cells (public)",
    )
    def get(self, request: Request, shower_id: str) -> Response:
        return Response(shower_detail(get_object_or_404(Shower, shower_id=shower_id)))


class MapCellsOut(serializers.Serializer[Any]):
    cells = CellOut(many=True, help_text="as the status's cells, in the view")
    cells_deg = serializers.FloatField(help_text="as the status's cells_deg, for this view")


@cached
class CellsView(PublicView):
    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", openapi.BBOX, required=True, description=openapi.BBOX_HELP)
        ],
        responses={200: MapCellsOut, **problems(400, 405, 429)},
        summary="The map's cells active in the last 24 h in a view (public)",
    )
    def get(self, request: Request) -> Response:
        """Merged into squares by the view's size alone, so that a view holds <= 5,000."""
        params = request.query_params
        unknown = {n: "unknown parameter; expected bbox" for n in params if n != "bbox"}
        if unknown or "bbox" not in params:
            raise QueryError(unknown or {"bbox": "is required: min_lon,min_lat,max_lon,max_lat"})
        box = parse_bbox(params["bbox"])
        # A view as coarse as the status's squares (the world, a continent) takes them from
        # the follower's snapshot, not from a scan of every active cell.
        body = snapshot.fresh_json()
        world = json.loads(body) if body else {}
        if world.get("cells_deg", CELL_DEG) > CELL_DEG and (
            map_cells.view_deg(*box) >= world["cells_deg"]
        ):
            cells = map_cells.within(world["cells"], *box)
            return Response({"cells": cells, "cells_deg": world["cells_deg"]})
        return Response(map_cells.in_view(time.time_ns() - NS_PER_DAY, *box))
