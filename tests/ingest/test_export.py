"""crowdray export: the lake layout, incremental runs, late arrivals, interruption."""

from __future__ import annotations

import time

import pyarrow.dataset as ds
import pytest

from ingest import export as exporter
from ingest.models import Hit
from ingest.store import insert_hits
from tests.factories import make_device
from vocab.contracts import HIT_SCHEMA

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
HOUR = 3600 * 10**9


@pytest.fixture(autouse=True)
def _no_settling(settings):
    settings.CROWDRAY_EXPORT_SETTLE_S = 0


def store(t_list: list[int], first_seq: int = 0) -> None:
    device, _ = make_device()
    n = len(t_list)
    insert_hits(device.id, {"seq": list(range(first_seq, first_seq + n)), "t_ns": t_list,
                            "lat": [46.2] * n, "lon": [6.1] * n})  # fmt: skip


def lake_ids(lake) -> list[int]:
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    return sorted(table.column("hit_id").to_pylist())


def test_hits_land_in_date_and_hour_partitions_in_the_hit_contract(tmp_path):
    t0 = (time.time_ns() // HOUR - 3) * HOUR
    store([t0 + 5, t0 + HOUR + 5, t0 + HOUR + 6, t0 + 2 * HOUR])
    result = exporter.export(tmp_path)
    assert result["hits"] == 4
    parts = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.parquet"))
    assert len(parts) == 3 and all(p.startswith("date=") and "/hour=" in p for p in parts)
    one = next(tmp_path.rglob("*.parquet"))
    assert ds.dataset(one).schema.equals(HIT_SCHEMA, check_metadata=False)
    assert lake_ids(tmp_path) == sorted(Hit.objects.values_list("id", flat=True))


def test_a_rerun_exports_nothing_twice_and_late_hits_join_their_old_hour(tmp_path):
    t0 = (time.time_ns() // HOUR - 3) * HOUR
    store([t0 + k for k in range(5)])
    exporter.export(tmp_path)
    assert exporter.export(tmp_path)["hits"] == 0
    store([t0 + 100, t0 + 101], first_seq=100)  # late uploads for the hour already exported
    assert exporter.export(tmp_path)["hits"] == 2
    hour_dir = next(tmp_path.rglob("hour=*"))
    assert len(list(hour_dir.glob("*.parquet"))) == 2
    assert lake_ids(tmp_path) == sorted(Hit.objects.values_list("id", flat=True))


def test_hits_younger_than_the_settling_time_wait_for_the_next_run(tmp_path, settings):
    store([time.time_ns()])
    settings.CROWDRAY_EXPORT_SETTLE_S = 3600
    assert exporter.export(tmp_path)["hits"] == 0
    settings.CROWDRAY_EXPORT_SETTLE_S = 0
    assert exporter.export(tmp_path)["hits"] == 1


def test_an_interrupted_export_is_redone_without_duplicates_or_gaps(tmp_path, monkeypatch):
    t0 = (time.time_ns() // HOUR - 5) * HOUR
    store([t0 + k * HOUR // 3 for k in range(12)])
    monkeypatch.setattr(exporter, "CHUNK", 5)  # several files per run

    def crash_after_first_chunk(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        exporter.export(tmp_path, progress=crash_after_first_chunk)
    assert exporter.read_state(tmp_path)["pending"] is not None
    assert 0 < len(lake_ids(tmp_path)) < 12
    store([t0 + 1], first_seq=50)  # arrives meanwhile: belongs to the next run
    exporter.export(tmp_path)
    exporter.export(tmp_path)
    ids = lake_ids(tmp_path)
    assert ids == sorted(Hit.objects.values_list("id", flat=True))
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_time_range_export_takes_only_that_range(tmp_path):
    t0 = (time.time_ns() // HOUR - 5) * HOUR
    store([t0, t0 + HOUR, t0 + 2 * HOUR])
    result = exporter.export(tmp_path, since=t0 + HOUR, until=t0 + 2 * HOUR)
    assert result["hits"] == 1
    assert exporter.read_state(tmp_path)["last_id"] == 0  # the incremental watermark is untouched
