"""The gunicorn worker class of `crowdray serve`: uvicorn's, set for crowdray.

gunicorn stays the process manager (it restarts a worker that dies and
shares the socket); each worker runs an event loop that serves
`crowdray.asgi:application`.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from crowdray.env import env_float

# Seconds a request's headers may take to arrive, from the connection or the
# request's first byte; uvicorn has no such deadline of its own.
HEADER_TIMEOUT_S = env_float("CROWDRAY_HEADER_TIMEOUT_S", 10.0, minimum=0.1)


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with a deadline on headers.

    A connection still sending its headers HEADER_TIMEOUT_S after it opened
    (or after its request began) is closed: slow clients cannot keep sockets.
    """

    deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:  # a first request keeps the deadline set at connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn_worker is untyped
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": HeaderDeadline,
        "lifespan": "off",
        # The client address is the peer's: X-Forwarded-For is read by Django, and
        # only for CROWDRAY_TRUSTED_PROXIES (uvicorn would trust any loopback peer).
        "proxy_headers": False,
        "timeout_keep_alive": 15,  # phones upload every minute or so; reuse within a burst
    }
