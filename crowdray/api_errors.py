"""How the API answers exceptions raised below the views: DRF's handler, plus QueryError."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler

from ingest.query import QueryError


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Bad query parameters are a 400 with one message per parameter."""
    if isinstance(exc, QueryError):
        return Response(exc.errors, status=400)
    return exception_handler(exc, context)
