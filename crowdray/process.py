"""Start `crowdray serve` (and other crowdray commands) as child processes: demo, tests, benches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def crowdray(*argv: str, env: dict[str, str], timeout: float = 300) -> str:
    """Run a crowdray command to completion; return its output, raise on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "crowdray.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"crowdray {' '.join(argv)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@contextmanager
def serving(
    env: dict[str, str],
    workers: int = 2,
    log: Path | None = None,
    bind: tuple[str, int] | None = None,
    follow: bool | None = None,
) -> Iterator[str]:
    """`crowdray serve` on `bind` (default a free loopback port); yields its base URL.

    follow: run the follower inside serve (None: serve's default for the database).
    """
    host, port = bind or ("127.0.0.1", free_port())
    flags = [] if follow is None else ["--follow" if follow else "--no-follow"]
    out = open(log, "w") if log else None  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crowdray.cli",
            "serve",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            *flags,
        ],
        env=env,
        stdout=out or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/api/schema/", timeout=5, allow_redirects=False)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still busy
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"crowdray serve did not start (exit {proc.poll()})"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a follower pass that does not end in time
            proc.kill()
            proc.wait(timeout=30)
        if out:
            out.close()


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(extra)
    return env
