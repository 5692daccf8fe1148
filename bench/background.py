"""Threads that run beside a benchmark's load: started on enter, stopped and joined on exit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Self


class Background:
    """Runs each of `targets` in a daemon thread; they should return once `stop` is set."""

    def __init__(self, targets: list[Callable[[], None]]) -> None:
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True) for f in targets]

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()
