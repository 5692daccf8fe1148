"""Not found and server errors: a styled page for people, JSON for API clients."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from api.problems import problem_response


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:  # noqa: ARG001 - Django's handler404 signature
    if _api(request):
        detail = f"no endpoint at {request.path}; the API is described at /api/docs/"
        if request.path.endswith("/") and len(request.path) > len("/api/v1/"):
            detail += f" (without the trailing slash: {request.path.rstrip('/')})"
        return problem_response("not_found", 404, detail)
    return render(request, "dashboard/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        detail = "the server failed; send the request again as it was: nothing is stored twice"
        return problem_response("server_error", 500, detail)
    return render(request, "dashboard/500.html", status=500)
