"""Counts per client address or device that every worker shares, incremented atomically.

A throttle that reads a count, adds one and writes it back lets concurrent
requests through together (DRF's own does, whatever its cache). Here each
request is one atomic increment of the count of its (scope, address, window):
- with REDIS_URL, Redis INCR (several machines);
- else a small SQLite file in the data folder, apart from the main database,
  shared by the workers of one machine (an UPSERT ... RETURNING).

Windows are fixed (the current minute, hour, ...): at most `limit` requests
per window, so up to twice the limit can pass around a window's edge.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches

PURGE_EVERY = 1000  # increments between deletions of expired counts


class SqliteCounter:
    """Counts in one SQLite file; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path, self.local, self.calls = path, threading.local(), 0

    def _db(self) -> sqlite3.Connection:
        if not hasattr(self.local, "db"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            _to_wal(new)
            new.execute(
                "CREATE TABLE IF NOT EXISTS counts "
                "(key TEXT PRIMARY KEY, n INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self.local.db = new
        db: sqlite3.Connection = self.local.db
        return db

    def increment(self, key: str, ttl_s: float, by: int = 1) -> int:
        db = self._db()
        now = time.time()
        (n,) = db.execute(
            "INSERT INTO counts VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET n = n + ? "
            "RETURNING n",
            (key, by, now + ttl_s, by),
        ).fetchone()
        self.calls += 1
        if self.calls % PURGE_EVERY == 0:
            db.execute("DELETE FROM counts WHERE expires < ?", (now,))
        return int(n)


def _to_wal(db: sqlite3.Connection, within_s: float = 10.0) -> None:
    """Put the file in WAL mode (a no-op once it is).

    When several connections switch a new file at once, SQLite answers "database
    is locked" at once instead of waiting its busy timeout: so wait here.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        else:
            return


def increment(key: str, ttl_s: float, by: int = 1) -> int:
    """Add `by` (one) to key's count (kept ttl_s seconds) and return the new count."""
    if settings.REDIS_URL:
        cache = caches["throttle"]
        cache.add(key, 0, timeout=round(ttl_s) + 1)  # SET NX: the window's first request
        return int(cache.incr(key, by))
    return _sqlite_counter().increment(key, ttl_s, by)


_counters: dict[Path, SqliteCounter] = {}


def _sqlite_counter() -> SqliteCounter:
    path = Path(settings.DATA_DIR) / "throttle.sqlite3"
    if path not in _counters:
        _counters[path] = SqliteCounter(path)
    return _counters[path]


def reset() -> None:
    """Forget every count (tests)."""
    if settings.REDIS_URL:
        caches["throttle"].clear()
        return
    _sqlite_counter()._db().execute("DELETE FROM counts")
