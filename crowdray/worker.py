"""The gunicorn worker class of `crowdray serve`: uvicorn's, set for crowdray.

gunicorn stays the process manager (it restarts a worker that dies and
shares the socket); each worker runs an event loop that serves
`crowdray.asgi:application`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn_worker is untyped
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        # The client address is the peer's: X-Forwarded-For is read by Django, and
        # only for CROWDRAY_TRUSTED_PROXIES (uvicorn would trust any loopback peer).
        "proxy_headers": False,
        "timeout_keep_alive": 15,  # phones upload every minute or so; reuse within a burst
    }
