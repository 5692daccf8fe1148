"""How the API answers exceptions below the views: DRF's, bad queries, a database down."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ingest.query import QueryError
from vocab.limits import DB_DOWN_RETRY_AFTER_S

log = logging.getLogger(__name__)


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Bad query parameters are a 400 with one message per parameter; a database down, a 503."""
    if isinstance(exc, QueryError):
        return Response(exc.errors, status=400)
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", exc)
        connection.close()  # a fresh connection for the next request
        return Response(
            {"detail": "the database is unavailable; nothing was stored, try again later"},
            status=503,
            headers={"Retry-After": str(DB_DOWN_RETRY_AFTER_S)},
        )
    return exception_handler(exc, context)
