"""Public pages: rendered on the server (they work without JavaScript), enhanced by scripts."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from api.query import QueryError
from dashboard import explain, queries
from dashboard.api import PublicThrottle, shower_detail
from follow import public
from follow import status as snapshot
from follow import teams as team_snapshot
from ingest.models import Shower
from vocab.times import iso_utc

View = Callable[..., HttpResponse]
# A million phones make ~1,000 teams of ~100 named volunteers: a page of them all
# took 126-312 ms to render.
TEAMS_PER_PAGE, NAMES_PER_TEAM = 100, 10


def throttled(view: View) -> View:
    """Pages count against the public API's per-address rate (CROWDRAY_PUBLIC_RATE)."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = PublicThrottle()
        if throttle.allow_request(request, None):  # type: ignore[arg-type]  # reads request.META only
            return view(request, *args, **kwargs)
        wait = math.ceil(throttle.wait() or 1)
        response = render(request, "dashboard/429.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response

    return page


@throttled
def network(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/network.html", {"status": snapshot.current()})


@throttled
def showers(request: HttpRequest) -> HttpResponse:
    try:
        qs = queries.filter_showers(request.GET).order_by("-t_ns", "shower_id")
        error = None
    except QueryError as exc:
        qs, error = Shower.objects.none(), exc.errors
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [public.shower_summary(s) for s in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": rows,
        "filters": request.GET,
        "error": error,
        "query": query.urlencode(),
    }
    return render(request, "dashboard/showers.html", context)


@throttled
def shower(request: HttpRequest, shower_id: str) -> HttpResponse:
    found = get_object_or_404(Shower, shower_id=shower_id)
    detail = shower_detail(found)
    words = {"sentence": explain.sentence(dict(detail))}
    search = detail["search"]
    words |= {
        "when": explain.when(detail["t_ns"]),
        "chance": explain.chance(detail["expected_background"]),
        "spread": explain.duration(detail["t_spread_ns"]),
        "search": explain.search(search["params"], search["since_ns"], search["until_ns"]),
        "run_at": found.search.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    order = Shower.objects.values_list("shower_id", flat=True)
    older = order.filter(t_ns__lt=found.t_ns).order_by("-t_ns", "shower_id").first()
    newer = order.filter(t_ns__gt=found.t_ns).order_by("t_ns", "shower_id").first()
    context = {"shower": detail, "words": words, "older": older, "newer": newer}
    return render(request, "dashboard/shower.html", context)


@throttled
def teams(request: HttpRequest) -> HttpResponse:
    """The follower's count of the teams, TEAMS_PER_PAGE a page, a few names each."""
    shown = team_snapshot.current()
    page = Paginator(shown["rows"], TEAMS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            **row,
            "named": row["named"][:NAMES_PER_TEAM],
            "unnamed": len(row["named"]) - NAMES_PER_TEAM,
        }
        for row in page
    ]
    as_of = iso_utc(shown["generated_ns"])
    return render(request, "dashboard/teams.html", {"page": page, "rows": rows, "as_of": as_of})


@throttled
def about(request: HttpRequest) -> HttpResponse:
    return render(
        request, "dashboard/about.html", {"min_sigma": settings.CROWDRAY_PUBLIC_MIN_SIGMA}
    )
