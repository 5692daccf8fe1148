"""`crowdray follow`: which consumers a process runs (--only, --skip)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db(transaction=True)


def follow_once(*args: str) -> list[str]:
    """The consumers one `follow --once` caught up, by name."""
    out = StringIO()
    call_command("follow", "--once", *args, stdout=out)
    return [line.split(":")[0] for line in out.getvalue().splitlines()]


def test_only_and_skip_split_the_consumers_between_processes(settings):
    settings.CROWDRAY_LIVE_INTERVAL_S = 15.0
    settings.CROWDRAY_STATUS_INTERVAL_S = 5.0
    settings.CROWDRAY_LAKE_DIR = settings.ELASTICSEARCH_URL = ""
    assert follow_once() == ["counters", "status", "teams", "live"]
    assert follow_once("--only", "live") == ["live"]
    assert follow_once("--skip", "live") == ["counters", "status", "teams"]
    assert follow_once("--only", "counters, status") == ["counters", "status"]


def test_a_part_of_the_live_search_keeps_its_own_name_and_answers_to_live(settings):
    settings.CROWDRAY_LIVE_INTERVAL_S = 15.0
    settings.CROWDRAY_LIVE_PART = "2/3"
    out = StringIO()
    call_command("follow", "--once", "--only", "live", stdout=out)
    assert out.getvalue().startswith("live:2/3: ")  # its marks are its own
    assert "live" not in follow_once("--skip", "live")


def test_an_unknown_consumer_name_is_an_error_that_lists_the_known_ones(settings):
    settings.CROWDRAY_LIVE_INTERVAL_S = 0.0
    with pytest.raises(CommandError, match=r"no consumer named live here; .* runs counters"):
        follow_once("--only", "live")
    with pytest.raises(CommandError):
        call_command("follow", "--only", "live", "--skip", "counters")
