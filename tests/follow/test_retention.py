"""follow.retention on PostgreSQL: a day leaves the database only when the lake holds all of it.

Old days are stored straight through ingest.store (uploads refuse times over
CROWDRAY_MAX_AGE_S old), exported by the follower's lake consumer, then retired
by the `days` consumer with a 31-day retention.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from follow import export as exporter
from follow.retention import DayPartitions
from ingest.days import day_of, day_text, held_days
from ingest.models import ArchivedDay, Device, ExposureBlock, Hit
from ingest.release import Release, write
from ingest.store import insert_exposures, insert_hits
from tests.factories import make_device, make_shower
from vocab.units import NS_PER_DAY

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]
NOW = time.time_ns()
OLD = NOW - 40 * NS_PER_DAY  # past the retention, and past what uploads accept
OLDER = NOW - 45 * NS_PER_DAY
RETENTION = 31


def store(device: Device, times: list[int], first_seq: int = 0) -> dict[str, list[Any]]:
    n = len(times)
    columns: dict[str, list[Any]] = {
        "seq": list(range(first_seq, first_seq + n)),
        "t_ns": times,
        "lat": [46.2] * n,
        "lon": [6.1] * n,
    }
    insert_hits(device.id, {k: list(v) for k, v in columns.items()})
    return columns


def store_block(device: Device, end_ns: int) -> None:
    insert_exposures(
        device.id,
        {
            "block_id": [uuid.uuid4()],
            "start_ns": [end_ns - 60 * 10**9],
            "end_ns": [end_ns],
            "lat": [46.2],
            "lon": [6.1],
            "frames": [900],
        },
    )


def lake_hit_ids(lake: Path) -> list[int]:
    files = [str(f) for f in sorted(lake.glob("date=*/hour=*/*.parquet"))]
    return sorted(ds.dataset(files, format="parquet").to_table().column("hit_id").to_pylist())


@pytest.fixture
def network(tmp_path: Path) -> tuple[Path, Device, list[int], str]:
    """Hits on two old days and today, blocks on an old day and today.

    Returns the lake's path, the phone, the hits' ids and the phone's token.
    """
    device, token = make_device()
    store(device, [OLDER + k * 10**9 for k in range(3)])
    store(device, [OLD + k * 10**9 for k in range(4)], first_seq=10)
    store(device, [NOW - k * 10**9 for k in range(2)], first_seq=20)
    store_block(device, OLD)
    store_block(device, NOW)
    ids = sorted(Hit.objects.values_list("id", flat=True))
    return tmp_path / "lake", device, ids, token


def retire(lake: Path) -> None:
    DayPartitions(RETENTION, lake).tick()


def test_a_day_leaves_once_the_lake_holds_it_and_no_hit_is_lost(network):
    lake, _, ids, _ = network
    exporter.export(lake)
    retire(lake)
    assert day_of(OLD) not in held_days(Hit)
    assert day_of(OLDER) not in held_days(Hit)
    assert day_of(OLD) not in held_days(ExposureBlock)
    assert Hit.objects.count() == 2  # today's stay
    assert ExposureBlock.objects.count() == 1
    assert lake_hit_ids(lake) == ids  # every hit, once
    archived = dict(ArchivedDay.objects.filter(table="ingest_hit").values_list("day", "rows"))
    assert (archived[day_of(OLDER)], archived[day_of(OLD)]) == (3, 4)


def test_today_and_the_coming_days_have_their_partitions(network):
    lake, _, _, _ = network
    retire(lake)
    assert {day_of(NOW) + k for k in range(3)} <= held_days(Hit)
    assert {day_of(NOW) + k for k in range(3)} <= held_days(ExposureBlock)


def test_a_day_not_yet_exported_is_kept(network):
    lake, device, _, _ = network
    retire(lake)  # nothing exported at all
    assert Hit.objects.count() == 9
    exporter.export(lake)
    store(device, [OLD + 10 * 10**9], first_seq=30)  # a late hit of the old day
    retire(lake)
    assert day_of(OLD) in held_days(Hit)  # its export is incomplete
    assert day_of(OLDER) not in held_days(Hit)  # complete, so it left
    exporter.export(lake)
    retire(lake)
    assert day_of(OLD) not in held_days(Hit)
    assert len(lake_hit_ids(lake)) == 10


def test_a_day_whose_lake_files_disagree_with_the_database_is_kept(network):
    lake, _, _, _ = network
    exporter.export(lake)
    day = time.strftime("%Y-%m-%d", time.gmtime(OLD // 10**9))
    for f in (lake / f"date={day}").glob("hour=*/*.parquet"):
        f.unlink()  # someone cleaned the lake
    retire(lake)
    assert day_of(OLD) in held_days(Hit)
    assert Hit.objects.filter(t_ns__gte=OLD, t_ns__lt=OLD + NS_PER_DAY).count() == 4


def test_a_retried_batch_of_a_day_that_left_is_refused_and_not_stored(network):
    lake, _, _, token = network
    exporter.export(lake)
    retire(lake)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    hits = [{"seq": 10 + k, "t_ns": OLD + k * 10**9, "lat": 46.2, "lon": 6.1} for k in range(4)]
    reply = client.post("/api/v1/hits", {"hits": hits}, format="json")
    assert reply.status_code == 422
    assert "must be within the last" in reply.json()["rejected"][0]["errors"]["t_ns"]
    assert Hit.objects.count() == 2


def test_readers_reaching_a_day_that_left_say_it_is_only_in_the_lake(network, tmp_path):
    lake, _, _, _ = network
    exporter.export(lake)
    retire(lake)
    user = User.objects.create_user("ada", password="pw")
    user.groups.add(Group.objects.get_or_create(name="researcher")[0])
    client = APIClient()
    client.force_authenticate(user)
    reply = client.get("/api/v1/hits", {"since": str(OLD)})
    assert reply.status_code == 410
    assert reply.json()["type"] == "/api/problems/only_in_lake"
    assert "only in the lake" in reply.json()["detail"]
    assert client.get("/api/v1/hits", {"since": str(NOW - NS_PER_DAY)}).status_code == 200
    # A shower outlives its hits' day in the database: its hits are not an empty list.
    old_shower = make_shower(hits_of=[], t_ns=OLD + 10**9, t_spread_ns=2 * 10**9)
    gone = client.get(f"/api/v1/showers/{old_shower.shower_id}/hits")
    assert gone.status_code == 410 and gone.json()["type"] == "/api/problems/only_in_lake"
    assert f"date={day_text(day_of(OLD))}" in gone.json()["detail"]
    now_shower = make_shower(hits_of=list(Hit.objects.all()))
    listed = client.get(f"/api/v1/showers/{now_shower.shower_id}/hits").json()["hits"]
    assert len(listed) == 2
    # The public shower page says the old shower's hits are archived, and draws the new one.
    public = APIClient()
    old_page = public.get(f"/api/v1/showers/{old_shower.shower_id}").json()
    assert old_page["archived"] and old_page["member_cells"] == old_page["time_profile_ms"] == []
    assert "hits are archived" in public.get(f"/showers/{old_shower.shower_id}/").content.decode()
    now_page = public.get(f"/api/v1/showers/{now_shower.shower_id}").json()
    assert not now_page["archived"] and len(now_page["time_profile_ms"]) == 2
    assert (
        "hits are archived" not in public.get(f"/showers/{now_shower.shower_id}/").content.decode()
    )
    with pytest.raises(ValueError, match="only in the lake"):
        write(Release(out=tmp_path / "release", since_ns=OLD, until_ns=NOW))
    with pytest.raises(exporter.LakeError, match="only in the lake"):
        exporter.export(tmp_path / "other", since=OLD, until=NOW)
