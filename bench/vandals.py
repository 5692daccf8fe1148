"""Broken phones for bench_million_live (--vandals): one of each kind the issue names.

- flood: 10^5 hits a minute (a 1,000-hit batch every 0.6 s). Every hit is
  stored; the counters, the map and the searches count 60 a minute.
- overlap: a 180-s exposure block every 2 s, each overlapping the last by 178 s.
  The counters give a phone at most 60 live seconds per minute.
- clock_ahead / clock_behind: hits and blocks stamped 3 hours ahead (refused:
  over CROWDRAY_MAX_FUTURE_S) or 3 hours behind (accepted: within the age limit,
  counted in their own minutes).
- repeat: the same 100-hit batch sent 100 times, one after another: stored once.

Each runs in its own thread for the whole load, over its own connection, and
records every reply; `report` checks the limits in the database afterwards.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from bench.background import Background

S, HOUR = 10**9, 3600 * 10**9
KINDS = ("flood", "overlap", "clock_ahead", "clock_behind", "repeat")
Post = Callable[[dict[str, Any], str, int, str, str, bytes], tuple[int, bytes]]


class Vandals(Background):
    """The broken phones' threads, and what the server said to each."""

    def __init__(
        self, url: str, devices: dict[str, tuple[str, str, float, float]], post: Post
    ) -> None:
        """devices: kind -> (device id, token, lat, lon); post: bench_million_live's client."""
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port, self.devices, self.post = host, int(port), devices, post
        self.replies: dict[str, Counter[str]] = {k: Counter() for k in devices}
        super().__init__([functools.partial(self.run, kind) for kind in devices])

    def run(self, kind: str) -> None:
        _, token, lat, lon = self.devices[kind]
        conn: dict[str, Any] = {}
        seq, repeat_body = 0, b""
        while not self.stop.is_set():
            now = time.time_ns()
            path, pause = "/api/v1/hits", 0.0
            if kind == "flood":
                body, pause = (
                    self.hits(seq, [now - k * 600_000 for k in range(1000)], lat, lon),
                    0.6,
                )
                seq += 1000
            elif kind == "overlap":
                path, body, pause = "/api/v1/exposures", self.block(now, lat, lon), 2.0
            elif kind in ("clock_ahead", "clock_behind"):
                skew = 3 * HOUR if kind == "clock_ahead" else -3 * HOUR
                body, pause = self.hits(seq, [now + skew - k * S for k in range(5)], lat, lon), 10.0
                seq += 5
            elif self.sent(kind) < 100:  # repeat: one batch, 100 times
                repeat_body = repeat_body or self.hits(
                    0, [now - k * S for k in range(100)], lat, lon
                )
                body = repeat_body
            else:
                self.stop.wait(1.0)
                continue
            status, reply = self.post(conn, self.host, self.port, path, token, body)
            self.note(kind, status, reply)
            self.stop.wait(pause)

    def sent(self, kind: str) -> int:
        return sum(n for k, n in self.replies[kind].items() if k.startswith("status"))

    def note(self, kind: str, status: int, reply: bytes) -> None:
        got = self.replies[kind]
        got[f"status {status}"] += 1
        try:
            parsed = orjson.loads(reply)
        except orjson.JSONDecodeError:
            return
        got["accepted"] += int(parsed.get("accepted", 0))
        got["duplicates"] += int(parsed.get("duplicates", 0))
        rejected = parsed.get("rejected", [])
        got["rejected"] += len(rejected)
        if rejected and self.sent(kind) == 1:  # what the server said, once
            got[f"said '{next(iter(rejected[0]['errors'].values()))}'"] += 1

    @staticmethod
    def hits(seq0: int, times: list[int], lat: float, lon: float) -> bytes:
        batch = [{"seq": seq0 + i, "t_ns": t, "lat": lat, "lon": lon} for i, t in enumerate(times)]
        return orjson.dumps({"hits": batch})

    @staticmethod
    def block(end: int, lat: float, lon: float) -> bytes:
        """The last 180 s, sent every 2 s: each block overlaps the last by 178 s."""
        one = {"block_id": str(uuid.uuid4()), "start_ns": end - 180 * S, "end_ns": end}
        return orjson.dumps({"blocks": [{**one, "lat": lat, "lon": lon, "frames": 2700}]})

    def accepted_hits(self) -> int:
        return sum(self.replies[k]["accepted"] for k in self.replies if k != "overlap")

    def report(self, dsn: str) -> None:
        """Each vandal's replies, and the limits as the database holds them."""
        with psycopg.connect(dsn) as conn:
            for kind, (device, *_rest) in self.devices.items():
                stored, most_hits, most_live = conn.execute(
                    "SELECT (SELECT count(*) FROM ingest_hit WHERE device_id = %(d)s), "
                    "max(hits), max(live_s) FROM ingest_deviceminute WHERE device_id = %(d)s",
                    {"d": device},
                ).fetchone() or (0, None, None)
                said = ", ".join(f"{k} {v:,}" for k, v in sorted(self.replies[kind].items()))
                print(
                    f"  vandal {kind}: {said}; stored {stored:,} hits; counted at most "
                    f"{most_hits} hits and {most_live} live s in a minute"
                )
