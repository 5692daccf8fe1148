"""Every API error in one shape: RFC 9457 `application/problem+json`.

A problem has `type` (a URI naming the kind of error, documented at
/api/problems/<code>), `title` (the HTTP status phrase), `status`, `detail`
(what was wrong, in words) and, where it helps, `errors` (one message per
query parameter or body field) or `rejected` (per-item errors of a batch).
Clients that only read `detail`, as before, keep working.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, NotRequired, TypedDict

from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, MethodNotAllowed, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from api.metrics import DATABASE_ERRORS
from api.query import CursorError, QueryError
from vocab.limits import DB_DOWN_RETRY_AFTER_S

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

# Each kind of problem, documented at /api/problems/<code>.
KINDS = {
    "parse_error": "The body could not be read: not JSON, not a JSON object with the "
    "expected list, or not valid gzip.",
    "invalid_query": "A query parameter is malformed; `errors` names each one.",
    "invalid": "A field of the body is malformed; `errors` names each one.",
    "invalid_hash": "The CRAYFIS upload's Hash-code is not the base64 SHA-256 of the salt "
    "(CROWDRAY_CRAYFIS_SALT) followed by the body.",
    "rejected": "Every item of the batch was rejected, so nothing was stored; `rejected` "
    "gives each item's index and its errors per field. Fix them and send the batch again.",
    "not_authenticated": "No credentials were sent. Uploads need 'Authorization: Token "
    "<device token>'; researchers' reads a researcher token or a session.",
    "authentication_failed": "The credentials were not accepted (unknown or revoked token, "
    "wrong password, or an unsupported scheme such as Bearer).",
    "permission_denied": "These credentials may not do this.",
    "not_found": "Nothing at this address, or no such object.",
    "method_not_allowed": "This address does not accept this HTTP method; `Allow` lists those "
    "it does.",
    "unsupported_media_type": "Send JSON, as it is or with `Content-Encoding: gzip`.",
    "not_acceptable": "The API answers in JSON only; accept application/json.",
    "request_timeout": "The body did not arrive in time (CROWDRAY_BODY_TIMEOUT_S); send "
    "the request again.",
    "only_in_lake": "The time range reaches days that have left the database for the Parquet "
    "lake (CROWDRAY_DB_RETENTION_DAYS); `detail` says where the database's days begin.",
    "too_large": "The body, decompressed, or the batch is over the limit; split it.",
    "throttled": "Too many requests; `Retry-After` says how many seconds to wait.",
    "unavailable": "A component (the database, the search index) is down; nothing was "
    "stored. `Retry-After` says when to try again.",
    "server_error": "The server failed. Nothing half-done is kept: send the request again "
    "as it was; uploads are never stored twice.",
}


class Problem(TypedDict):
    type: str
    title: str
    status: int
    detail: str
    errors: NotRequired[Any]
    rejected: NotRequired[list[dict[str, Any]]]


def problem(code: str, status_code: int, detail: str, **extra: Any) -> Problem:
    """A problem body; `code` must be one of KINDS."""
    body: Problem = {
        "type": f"/api/problems/{code}",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
    }
    return body | extra  # type: ignore[return-value]  # extra holds errors or rejected


def problem_response(code: str, status_code: int, detail: str, **extra: Any) -> JsonResponse:
    """A problem outside DRF (Django's 404 and 500 handlers)."""
    body = problem(code, status_code, detail, **extra)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_JSON)


class Unavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"

    def __init__(self, detail: str, retry_after_s: int = DB_DOWN_RETRY_AFTER_S) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class OnlyInLake(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "only_in_lake"


class MethodsFirst:
    """A mixin for API views: an unsupported method is a 405 before credentials are checked.

    (DRF checks credentials first, so a PUT with a device token got 403.)
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        method = request.method.lower() if request.method else ""
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            raise MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering with problems."""
    if isinstance(exc, CursorError):
        body = problem("not_found", 404, _listed(exc.errors), errors=exc.errors)
        return Response(body, status=404, content_type=PROBLEM_JSON)
    if isinstance(exc, QueryError):
        body = problem("invalid_query", 400, _listed(exc.errors), errors=exc.errors)
        return Response(body, status=400, content_type=PROBLEM_JSON)
    headers = {}
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", exc)
        DATABASE_ERRORS.inc()
        connection.close()  # a fresh connection for the next request
        exc = Unavailable("the database is unavailable; nothing was stored, try again later")
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Http404):
        exc = NotFound(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "server_error")
    code = code if code in KINDS else "invalid"
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        body = problem(code, response.status_code, str(data["detail"]))
    else:
        body = problem(code, response.status_code, _described(data), errors=data)
    request = context.get("request")
    if request is not None and request.path.startswith("/api/v2/"):
        body["message"] = body["detail"]  # type: ignore[typeddict-unknown-key]  # CREDO's apps read message
    response.data = body
    response.content_type = PROBLEM_JSON
    for name, value in headers.items():
        response[name] = value
    return response


def _described(errors: Any) -> str:
    """DRF's validation errors ({field: [messages]}) in one line."""
    if isinstance(errors, dict):
        parts = [
            f"{name}: {' '.join(map(str, m)) if isinstance(m, list) else m}"
            for name, m in errors.items()
        ]
        return "the request is invalid: " + "; ".join(parts)
    return "the request is invalid"


def _listed(errors: dict[str, str]) -> str:
    return "; ".join(f"{name} {message}" for name, message in errors.items())


def problem_page(request: HttpRequest, code: str) -> JsonResponse:  # noqa: ARG001 - a Django view
    """GET /api/problems/<code>: what a kind of problem means."""
    if code not in KINDS:
        return problem_response("not_found", 404, f"no problem type '{code}'")
    return JsonResponse({"type": f"/api/problems/{code}", "code": code, "description": KINDS[code]})
