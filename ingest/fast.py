"""The upload's short way: a well-formed upload by a known device, without Django's request.

A web worker under bench_ingest's load spent about half of its Python time
(py-spy, samples holding the GIL) outside the upload's own work of parsing,
validating and inserting: in Django's request and middleware, DRF's view
machinery and the WSGI bridge's hand-offs between the event loop and a thread,
and one `SELECT 1` health check per request.

So crowdray/asgi.py offers each complete `POST /api/v1/hits` or
`/api/v1/exposures` here first, in a thread of its own pool. This does what
the views do for a good upload, with the same pipeline (ingest.uploads: body,
validation, insert, reply, metrics), and sends the same headers the
middleware would. Everything else returns None and goes to Django, which
answers it as before: no or an unknown token, a host Django would refuse,
plain http when https is required, a body that does not parse, a batch with
nothing valid, a database error. So every error reply is written in one place,
and tests/crowdray/test_fast_uploads.py checks both ways give the same reply.

The connection is not health-checked per request: a broken one fails the
insert, is closed, and the request goes to Django, which checks its own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from csp.utils import build_policy
from django.conf import settings
from django.db import DatabaseError, connection
from django.http.request import split_domain_port, validate_host
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from api.metrics import FAST_UPLOADS
from ingest.auth import device_of
from ingest.models import hash_token
from ingest.uploads import BLOCKS, HITS, decoded_body, read_items, store, validate

log = logging.getLogger(__name__)

KINDS = {"/api/v1/hits": HITS, "/api/v1/exposures": BLOCKS}
# What DRF's views answer in Allow: both endpoints also list for researchers.
ALLOW = b"GET, POST, HEAD, OPTIONS"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def wanted(scope: Any) -> bool:
    """Whether a request is an upload this module may answer."""
    return bool(scope["method"] == "POST" and scope["path"] in KINDS)


def upload(scope: Any, body: bytes) -> Reply | None:
    """The 201 reply to a good upload, stored; None to leave the request to Django."""
    headers = {name.lower(): value for name, value in scope["headers"]}
    secure = _secure(scope, headers)
    if secure is None or not _host_allowed(headers.get(b"host", b"")):
        return None
    _close_if_old()
    try:
        device = _device(headers.get(b"authorization", b""))
        if device is None:
            return None
        kind = KINDS[scope["path"]]
        try:
            length, encoding = headers.get(b"content-length"), headers.get(b"content-encoding")
            raw = decoded_body(body, _text(length), _text(encoding))
            batch = validate(kind, read_items(raw, kind.key))
            if not batch.n_valid:
                return None  # the 422, with its problem body, is Django's
            reply = store(device, kind, batch)  # a 429 too: nothing stored or counted
        except APIException:
            return None
    except DatabaseError as exc:
        log.warning("upload: the database failed (%s); Django answers instead", exc)
        connection.close()
        return None
    FAST_UPLOADS.labels(kind.key).inc()
    content = JSONRenderer().render(reply)
    return Reply(201, [*_headers(secure), (b"content-length", str(len(content)).encode())], content)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _device(authorization: bytes) -> Any:
    """The device id for `Token <token>`, as ingest.auth.TokenAuthentication reads it."""
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != b"token":
        return None
    device = device_of(hash_token(parts[1].decode(errors="replace")))
    return None if device is None else device.id


def _host_allowed(host: bytes) -> bool:
    """Whether Django's own Host check (ALLOWED_HOSTS) would pass; in doubt, Django decides."""
    domain, _port = split_domain_port(host.decode("latin-1"))
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _secure(scope: Any, headers: dict[bytes, bytes]) -> bool | None:
    """Whether the request came over https; None when Django would redirect it there."""
    secure = scope.get("scheme") == "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        secure = headers.get(name, b"").decode("latin-1") == proxy[1]
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None
    return bool(secure)


@cache  # the settings are fixed for a process's life
def _headers(secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers Django's middleware and DRF put on a 201 upload reply."""
    out = [
        (b"content-type", b"application/json"),
        (b"allow", ALLOW),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
    ]
    policy = build_policy()
    if policy:
        out.append((b"content-security-policy", policy.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        out.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        out.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out.append(
            (b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode())
        )
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        out.append((b"strict-transport-security", hsts.encode()))
    return tuple(out)


def _close_if_old() -> None:
    """Close this thread's connection past CONN_MAX_AGE, as Django does between requests."""
    if connection.close_at is not None and time.monotonic() >= connection.close_at:
        connection.close()
