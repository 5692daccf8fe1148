"""Clients sending a byte a second hold no worker, and are cut off at a deadline."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
import requests

from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from tests.factories import hit

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only, pytest.mark.timeout(300)]
KEY = "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
SLOW, TIMEOUT_S = 16, 6


class Dribblers:
    """SLOW connections sending one byte a second: half still in their headers, half in a body."""

    def __init__(self, host: str, port: int) -> None:
        head = f"POST /api/v1/hits HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        self.pending = [
            (head + "Content-Length: 4000\r\n\r\n").encode() + b" " * 4000 for _ in range(SLOW)
        ]
        self.socks = [socket.create_connection((host, port)) for _ in range(SLOW)]
        for k, sock in enumerate(self.socks[SLOW // 2 :], start=SLOW // 2):
            # the body half: headers sent whole, then the body byte by byte
            split = self.pending[k].index(b"\r\n\r\n") + 4
            sock.sendall(self.pending[k][:split])
            self.pending[k] = self.pending[k][split:]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            for k, sock in enumerate(self.socks):
                if self.pending[k]:
                    try:
                        sock.send(self.pending[k][:1])
                    except OSError:  # the server gave up on it
                        self.pending[k] = b""
                    self.pending[k] = self.pending[k][1:]

    def replies(self) -> list[bytes | None]:
        """Stop; what the server sent each connection before closing it (None: still open)."""
        self.stop.set()
        self.thread.join()
        out: list[bytes | None] = []
        for sock in self.socks:
            sock.settimeout(3)
            try:
                out.append(sock.recv(4096))
            except TimeoutError:
                out.append(None)
            except OSError:
                out.append(b"")
            sock.close()
        return out


def test_sixteen_clients_sending_a_byte_a_second_leave_uploads_fast_and_are_cut_off(tmp_path):
    with ThrowawayPostgres() as pg:
        env = service_env(
            CROWDRAY_DEVICE_HITS_PER_HOUR="0",  # a few phones carry the whole load
            DATABASE_URL=pg.url,
            SECRET_KEY=KEY,
            CROWDRAY_DATA_DIR=str(tmp_path),
            CROWDRAY_BODY_TIMEOUT_S=str(TIMEOUT_S),
            CROWDRAY_HEADER_TIMEOUT_S=str(TIMEOUT_S),
        )
        crowdray("migrate", "--verbosity", "0", env=env)
        with serving(env, workers=2, follow=False) as url:
            host, port = url.removeprefix("http://").split(":")
            token = requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            slow = Dribblers(host, int(port))
            started = time.monotonic()
            time.sleep(1.5)  # every slow connection is open and sending
            latencies, codes = [], []
            for b in range(60):
                batch = {"hits": [hit(seq=100 * b + i) for i in range(100)]}
                t0 = time.perf_counter()
                sent = session.post(f"{url}/api/v1/hits", json=batch, timeout=30)
                latencies.append(time.perf_counter() - t0)
                codes.append(sent.status_code)
            assert time.monotonic() - started < TIMEOUT_S  # all while the 16 were sending
            time.sleep(max(0.0, TIMEOUT_S + 1.5 - (time.monotonic() - started)))
            replies = slow.replies()
    assert codes == [201] * 60
    assert np.percentile(latencies, 99) < 0.5, sorted(latencies)[-5:]
    # Headers that dribble past the deadline: the connection is closed.
    assert replies[: SLOW // 2] == [b""] * (SLOW // 2)
    # A body that dribbles past the deadline is answered 408, as a problem.
    for reply in replies[SLOW // 2 :]:
        assert reply is not None
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert b"application/problem+json" in reply and b"request_timeout" in reply
