"""The teams page: each CREDO team's live hours, phones and hits over the last 7 days.

A volunteer's phones are those of their CREDO login and the CRAYFIS phones their
App-code linked (crayfis.models.Phone). From the follower's per-device-day
counters (ingest.models.DeviceDay), never the hits table. A volunteer appears by
name only if they chose a display name.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce

from credo.models import Team, Volunteer
from ingest.models import DeviceDay
from vocab.units import NS_PER_DAY

DAYS = 7
# A device is one app's phone: a CREDO phone or a CRAYFIS phone, never both.
TEAM = Coalesce(
    F("device__phone__volunteer__team__name"), F("device__crayfis_phone__volunteer__team__name")
)


class TeamRow(TypedDict):
    name: str
    volunteers: int
    named: list[str]
    phones: int
    hits: int
    live_hours: float


def teams(now_ns: int | None = None) -> list[TeamRow]:
    """Every team with members, busiest (live hours, then hits) first."""
    first_day = (now_ns or time.time_ns()) // NS_PER_DAY - (DAYS - 1)
    week = (
        DeviceDay.objects.filter(day__gte=first_day)
        .annotate(team=TEAM)
        .exclude(team=None)
        .values("team")
        .annotate(hits=Sum("hits"), live_s=Sum("live_s"), phones=Count("device", distinct=True))
    )
    activity: dict[str, dict[str, Any]] = {row["team"]: dict(row) for row in week}
    members = Team.objects.annotate(n=Count("volunteer")).filter(n__gt=0)
    named: dict[str, list[str]] = {}
    shown = Volunteer.objects.exclude(display_name="").exclude(team=None)
    for team_name, name in shown.order_by("display_name").values_list("team__name", "display_name"):
        named.setdefault(team_name, []).append(name)
    rows: list[TeamRow] = []
    for team in members:
        done = activity.get(team.name, {})
        rows.append(
            {
                "name": team.name,
                "volunteers": team.n,
                "named": named.get(team.name, []),
                "phones": done.get("phones", 0),
                "hits": done.get("hits", 0),
                "live_hours": round((done.get("live_s") or 0.0) / 3600, 1),
            }
        )
    return sorted(rows, key=lambda r: (-r["live_hours"], -r["hits"], r["name"]))
