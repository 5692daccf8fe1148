"""Not found and server errors: a styled page for people, JSON for API clients."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:  # noqa: ARG001 - Django's handler404 signature
    if _api(request):
        detail = f"no endpoint at {request.path}; the API is described at /api/docs/"
        return JsonResponse({"detail": detail}, status=404)
    return render(request, "dashboard/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "the server failed; an upload may be sent again as it was: "
                                      "nothing is ever stored twice"},
                            status=500)  # fmt: skip
    return render(request, "dashboard/500.html", status=500)
