"""The teams page: each CREDO team's live hours, phones and hits over the last 7 days.

A volunteer's phones are those of their CREDO login and the CRAYFIS phones their
App-code linked (crayfis.models.Phone). From the follower's per-device-day
counters (ingest.models.DeviceDay), never the hits table. A volunteer appears by
name only if they chose a display name.

At a million phones the week is 7 × 10^6 device-days, seconds of work, so
requests do not pay it: the follower's `teams` consumer stores the page's rows
every CROWDRAY_TEAMS_INTERVAL_S seconds (600) and the page shows them with their
time. When no follower keeps them fresh (none, or a snapshot 4 intervals old),
the request that finds them so computes and stores them; with the interval at 0
every request computes.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict

from django.conf import settings
from django.db import connection
from django.db.models import Count

from crayfis.models import Phone as CrayfisPhone
from credo.models import Phone, Team, Volunteer
from follow.status import STALE_INTERVALS
from follow.tail import Consumer
from ingest.models import DeviceDay, StatusSnapshot
from vocab.units import NS_PER_DAY, NS_PER_S

DAYS = 7
SNAPSHOT_ID = 2  # the StatusSnapshot row of the teams page (1 is the status)


class TeamRow(TypedDict):
    name: str
    volunteers: int
    named: list[str]
    phones: int
    hits: int
    live_hours: float


class Teams(TypedDict):
    generated_ns: int
    rows: list[TeamRow]


def _week_sql() -> str:
    """Hits, live seconds and phones per team over the days from %s on.

    Each phone's week is summed first (one row per phone), then joined to its
    team: a device is one app's phone, a CREDO or a CRAYFIS one, never both.
    """
    day, team, volunteer = (m._meta.db_table for m in (DeviceDay, Team, Volunteer))
    owners = " UNION ALL ".join(
        f"SELECT p.device_id, t.name AS team FROM {m._meta.db_table} p "
        f"JOIN {volunteer} v ON v.id = p.volunteer_id JOIN {team} t ON t.id = v.team_id"
        for m in (Phone, CrayfisPhone)
    )
    return (
        "SELECT o.team, count(*), sum(w.hits), sum(w.live_s) FROM ("
        f"SELECT device_id, sum(hits) AS hits, sum(live_s) AS live_s FROM {day} "
        "WHERE day >= %s GROUP BY device_id"
        f") w JOIN ({owners}) o ON o.device_id = w.device_id GROUP BY o.team"
    )


def teams(now_ns: int | None = None) -> list[TeamRow]:
    """Every team with members, busiest (live hours, then hits) first."""
    first_day = (now_ns or time.time_ns()) // NS_PER_DAY - (DAYS - 1)
    with connection.cursor() as cursor:
        cursor.execute(_week_sql(), [first_day])
        activity: dict[str, tuple[Any, ...]] = {row[0]: row[1:] for row in cursor.fetchall()}
    members = Team.objects.annotate(n=Count("volunteer")).filter(n__gt=0)
    named: dict[str, list[str]] = {}
    shown = Volunteer.objects.exclude(display_name="").exclude(team=None)
    for team_name, name in shown.order_by("display_name").values_list("team__name", "display_name"):
        named.setdefault(team_name, []).append(name)
    rows: list[TeamRow] = []
    for team in members:
        phones, hits, live_s = activity.get(team.name, (0, 0, 0.0))
        rows.append(
            {
                "name": team.name,
                "volunteers": team.n,
                "named": named.get(team.name, []),
                "phones": int(phones),
                "hits": int(hits or 0),
                "live_hours": round(float(live_s or 0.0) / 3600, 1),
            }
        )
    return sorted(rows, key=lambda r: (-r["live_hours"], -r["hits"], r["name"]))


def write(now_ns: int | None = None) -> Teams:
    """Compute the teams' rows and store them as the page's snapshot."""
    now_ns = now_ns or time.time_ns()
    snapshot: Teams = {"generated_ns": now_ns, "rows": teams(now_ns)}
    StatusSnapshot.objects.update_or_create(
        id=SNAPSHOT_ID, defaults={"generated_ns": now_ns, "body": json.dumps(snapshot["rows"])}
    )
    return snapshot


def current() -> Teams:
    """The follower's last snapshot while fresh, else computed (and stored) now."""
    interval = settings.CROWDRAY_TEAMS_INTERVAL_S
    if interval <= 0:
        now_ns = time.time_ns()
        return {"generated_ns": now_ns, "rows": teams(now_ns)}
    row = StatusSnapshot.objects.filter(id=SNAPSHOT_ID).values_list("generated_ns", "body").first()
    if row is None or time.time_ns() - row[0] > STALE_INTERVALS * interval * NS_PER_S:
        return write()
    return {"generated_ns": row[0], "rows": json.loads(row[1])}


class TeamSnapshots(Consumer):
    """The follower's consumer that refreshes the teams page; it reads no rows."""

    name = "teams"
    streams: dict[str, tuple[str, ...]] = {}

    def __init__(self, interval_s: float = 600.0) -> None:
        self.interval_s = interval_s

    def tick(self) -> None:
        write()

    def last_tick_ns(self) -> int | None:
        snapshot = StatusSnapshot.objects.filter(id=SNAPSHOT_ID)
        generated: int | None = snapshot.values_list("generated_ns", flat=True).first()
        return generated
