"""What `crowdray serve` runs: Django behind an event loop that reads each request whole.

Under gunicorn's threaded workers a connection held a thread from its first
byte, so 8 clients sending a byte a second stopped every upload. Here
uvicorn reads the headers on the event loop, and `WholeRequests` reads the
body there too, under a deadline and the body limit. Only a complete request
reaches a thread of Django's pool (a2wsgi), so a slow client costs a socket
and a few kilobytes, never a thread (tests/reliability/test_slow_clients.py).
A good upload is answered before Django, in a pool of its own (ingest/fast.py).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.wsgi import get_wsgi_application

if TYPE_CHECKING:
    from ingest.fast import Reply

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLargeError(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body; None if the client went away; BodyTooLargeError past `limit` bytes."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLargeError
        if not message.get("more_body", False):
            return bytes(body)


async def send_problem(send: Send, code: str, status: int, detail: str) -> None:
    """An RFC 9457 problem, as api.problems writes them, without Django."""
    from http import HTTPStatus

    body = json.dumps(
        {
            "type": f"/api/problems/{code}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"connection", b"close"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


Fast = Callable[[Scope, bytes], Awaitable["Reply | None"]]


class WholeRequests:
    """ASGI middleware: pass a request on only once its body has fully arrived.

    fast: offered each complete upload first (ingest.fast); None leaves it to `app`.
    """

    def __init__(
        self, app: ASGIApp, limit: int, timeout_s: float, fast: Fast | None = None
    ) -> None:
        self.app, self.limit, self.timeout_s, self.fast = app, limit, timeout_s, fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await asyncio.wait_for(read_body(receive, self.limit), self.timeout_s)
        except BodyTooLargeError:
            await send_problem(send, "too_large", 413, f"The body is over {self.limit} bytes.")
            return
        except TimeoutError:
            await send_problem(
                send,
                "request_timeout",
                408,
                f"The body did not arrive within {self.timeout_s:g} s; send it again.",
            )
            return
        if body is None:
            return
        if self.fast is not None:
            reply = await self.fast(scope, body)
            if reply is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": reply.status,
                        "headers": reply.headers,
                    }
                )
                await send({"type": "http.response.body", "body": reply.body})
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # only a disconnect can follow
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def fast_uploads(threads: int) -> Fast:
    """ingest.fast.upload for the uploads it takes, run in a pool of its own threads."""
    from ingest import fast

    pool = ThreadPoolExecutor(threads, thread_name_prefix="upload")

    async def offer(scope: Scope, body: bytes) -> Reply | None:
        if not fast.wanted(scope):
            return None
        return await asyncio.get_running_loop().run_in_executor(pool, fast.upload, scope, body)

    return offer


def build() -> ASGIApp:
    """The app `crowdray serve` runs."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdray.settings")
    wsgi = get_wsgi_application()
    # a2wsgi declares its own ASGI types, narrower than these
    django_app: ASGIApp = WSGIMiddleware(wsgi, workers=settings.CROWDRAY_THREADS)  # type: ignore[arg-type,assignment]
    fast = fast_uploads(settings.CROWDRAY_THREADS) if settings.CROWDRAY_FAST_UPLOADS else None
    return WholeRequests(
        django_app, settings.CROWDRAY_MAX_BODY_BYTES, settings.CROWDRAY_BODY_TIMEOUT_S, fast
    )


application = build()
