"""Public pages: rendered on the server (they work without JavaScript), enhanced by scripts."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from dashboard import queries
from dashboard.api import shower_detail
from ingest.models import Shower
from ingest.query import QueryError


def network(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/network.html", {"status": queries.cached_status()})


def showers(request: HttpRequest) -> HttpResponse:
    try:
        qs = queries.filter_showers(request.GET).order_by("-t_ns", "shower_id")
        error = None
    except QueryError as exc:
        qs, error = Shower.objects.none(), exc.errors
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [queries.shower_summary(s) for s in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "rows": rows, "filters": request.GET, "error": error,
               "query": query.urlencode()}  # fmt: skip
    return render(request, "dashboard/showers.html", context)


def shower(request: HttpRequest, shower_id: str) -> HttpResponse:
    detail = shower_detail(get_object_or_404(Shower, shower_id=shower_id))
    return render(request, "dashboard/shower.html", {"shower": detail})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/about.html")
