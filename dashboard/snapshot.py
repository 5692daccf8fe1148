"""The public status, computed once per interval by the follower rather than per request.

Building the status (a 1,440-minute series, up to 5,000 cells, counters, the
latest showers) costs ~70 ms; a page view or an API call should not pay it.
The follower's `status` consumer writes it every CROWDRAY_STATUS_INTERVAL_S
seconds as the JSON reply, and requests read that one row. When the snapshot
is missing or older than a few intervals (no follower running), a request
computes the status itself: slower, never stale.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings

from dashboard import queries
from ingest.models import StatusSnapshot
from ingest.tail import Consumer
from vocab.units import NS_PER_S

log = logging.getLogger(__name__)
STALE_INTERVALS = 4  # a snapshot this many intervals old is not used
MIN_STALE_S = 20.0


def write(now_ns: int | None = None) -> None:
    """Compute the status and store it as the current snapshot."""
    now_ns = now_ns or time.time_ns()
    body = json.dumps(queries.status(now_ns), separators=(",", ":"))
    StatusSnapshot.objects.update_or_create(id=1, defaults={"generated_ns": now_ns, "body": body})


def current_json() -> str:
    """The status reply as JSON text: the follower's snapshot while fresh, else computed now."""
    interval = settings.CROWDRAY_STATUS_INTERVAL_S
    if interval > 0:
        row = StatusSnapshot.objects.filter(id=1).values_list("generated_ns", "body").first()
        max_age_ns = max(MIN_STALE_S, STALE_INTERVALS * interval) * NS_PER_S
        if row is not None and time.time_ns() - row[0] <= max_age_ns:
            return row[1]
        log.debug("status computed per request: no fresh snapshot from the follower")
    return json.dumps(queries.status(), separators=(",", ":"))


def current() -> queries.Status:
    """current_json() as a dict, for the pages."""
    status: queries.Status = json.loads(current_json())
    return status


class StatusSnapshots(Consumer):
    """The follower's consumer that refreshes the status snapshot; it reads no rows."""

    name = "status"
    streams: dict[str, tuple[str, ...]] = {}

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s

    def tick(self) -> None:
        write()

    def last_tick_ns(self) -> int | None:
        generated: int | None = (
            StatusSnapshot.objects.filter(id=1).values_list("generated_ns", flat=True).first()
        )
        return generated
