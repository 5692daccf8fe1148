"""crowdray export: the lake layout, incremental runs, late arrivals, a killed export."""

from __future__ import annotations

import shutil
import time
import uuid
from typing import Any

import pyarrow.dataset as ds
import pytest

from follow import export as exporter
from follow import tail
from ingest.models import ExposureBlock, Hit
from ingest.store import insert_exposures, insert_hits
from tests.factories import make_device
from vocab.contracts import EXPOSURE_SCHEMA, HIT_SCHEMA

# On PostgreSQL the tail sees only committed rows, so these tests commit.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
HOUR = 3600 * 10**9


def store(t_list: list[int], first_seq: int = 0) -> None:
    device, _ = make_device()
    n = len(t_list)
    insert_hits(
        device.id,
        {
            "seq": list(range(first_seq, first_seq + n)),
            "t_ns": t_list,
            "lat": [46.2] * n,
            "lon": [6.1] * n,
        },
    )


def lake_ids(lake) -> list[int]:
    files = [str(f) for f in sorted(lake.glob("date=*/hour=*/*.parquet"))]
    table = ds.dataset(files, format="parquet").to_table()
    return sorted(table.column("hit_id").to_pylist())


def store_blocks(spans: list[tuple[int, int]]) -> None:
    device, _ = make_device()
    n = len(spans)
    columns: dict[str, list[Any]] = {
        "block_id": [uuid.uuid4() for _ in spans],
        "start_ns": [a for a, _ in spans],
        "end_ns": [b for _, b in spans],
        "lat": [46.2] * n,
        "lon": [6.1] * n,
        "frames": [900] * n,
    }
    insert_exposures(device.id, columns)


def lake_blocks(lake) -> list[str]:
    table = ds.dataset(lake / "exposures", format="parquet", partitioning="hive").to_table()
    return sorted(table.column("block_id").to_pylist())


def test_exposure_blocks_land_by_end_date_in_the_exposure_contract_once(tmp_path):
    t0 = (time.time_ns() // HOUR - 30) * HOUR
    store_blocks([(t0, t0 + HOUR // 2), (t0 + 25 * HOUR, t0 + 26 * HOUR)])
    assert exporter.export(tmp_path)["exposures"] == 2
    parts = sorted(
        p.relative_to(tmp_path).parent.as_posix()
        for p in (tmp_path / "exposures").rglob("*.parquet")
    )
    assert all(p.startswith("exposures/date=") for p in parts) and len(parts) >= 1
    one = next((tmp_path / "exposures").rglob("*.parquet"))
    assert ds.dataset(one).schema.equals(EXPOSURE_SCHEMA, check_metadata=False)
    stored = sorted(str(b) for b in ExposureBlock.objects.values_list("block_id", flat=True))
    assert lake_blocks(tmp_path) == stored
    assert exporter.export(tmp_path)["exposures"] == 0  # nothing twice
    store_blocks([(t0 + HOUR, t0 + 2 * HOUR)])
    assert exporter.export(tmp_path)["exposures"] == 1
    assert len(lake_blocks(tmp_path)) == 3


def test_the_search_reads_hits_and_blocks_from_one_lake(tmp_path, spark):
    from coincidence import job
    from coincidence.params import Params

    t0 = (time.time_ns() // HOUR - 3) * HOUR
    store([t0 + 5, t0 + HOUR + 5, t0 + HOUR + 6])
    store_blocks([(t0, t0 + HOUR)])
    exporter.export(tmp_path)
    assert job.extract(spark, str(tmp_path), Params()).count() == 3
    blocks = job.read_blocks(spark, str(tmp_path)).collect()
    assert [(b.start_ns, b.end_ns) for b in blocks] == [(t0, t0 + HOUR)]


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


def test_an_export_killed_after_writing_a_chunk_rewrites_the_same_files(tmp_path, monkeypatch):
    t0 = (time.time_ns() // HOUR - 5) * HOUR
    store([t0 + k * HOUR // 3 for k in range(12)])
    monkeypatch.setattr(exporter.LakeExport, "chunk_rows", 5)  # several chunks per run
    real_save, saves = tail.save_mark, []

    def dies_before_the_second_chunk_is_marked(*args: object) -> None:
        saves.append(args)
        if len(saves) == 3:  # the range, the first chunk, then the second: killed here
            raise KeyboardInterrupt
        real_save(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tail, "save_mark", dies_before_the_second_chunk_is_marked)
    with pytest.raises(KeyboardInterrupt):
        exporter.export(tmp_path)
    monkeypatch.setattr(tail, "save_mark", real_save)
    assert len(lake_ids(tmp_path)) == 10  # two chunks' files are in place, one of them unmarked
    store([t0 + 1], first_seq=50)  # arrives meanwhile
    exporter.export(tmp_path)
    assert lake_ids(tmp_path) == sorted(Hit.objects.values_list("id", flat=True))
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_deleted_lake_is_exported_again_from_the_first_hit(tmp_path):
    t0 = (time.time_ns() // HOUR - 3) * HOUR
    store([t0, t0 + 1])
    lake = tmp_path / "lake"
    exporter.export(lake)
    shutil.rmtree(lake)
    assert exporter.export(lake)["hits"] == 2
    assert lake_ids(lake) == sorted(Hit.objects.values_list("id", flat=True))


def test_a_lake_of_the_old_exporter_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "_state.json").write_text('{"last_id": 5, "pending": null}')
    with pytest.raises(exporter.LakeError, match="older crowdray export"):
        exporter.export(tmp_path)


def test_a_time_range_export_takes_only_that_range(tmp_path):
    t0 = (time.time_ns() // HOUR - 5) * HOUR
    store([t0, t0 + HOUR, t0 + 2 * HOUR])
    store_blocks([(t0 - HOUR, t0), (t0 + HOUR, t0 + HOUR + 10**9)])
    result = exporter.export(tmp_path, since=t0 + HOUR, until=t0 + 2 * HOUR)
    assert result["hits"] == 1
    assert result["exposures"] == 1  # the block that ends in the range
    assert exporter.export(tmp_path)["hits"] == 3  # the incremental export is untouched by it


def test_a_span_without_hits_writes_no_files_and_the_search_reads_it_as_no_hits(tmp_path, spark):
    from io import StringIO

    from django.core.management import call_command

    from coincidence import job
    from coincidence.params import Params

    out = StringIO()
    call_command("export", "--out", str(tmp_path), "--since", "2020-01-01", stdout=out)
    assert "exported 0 hits and 0 exposure blocks in 0 files" in out.getvalue()
    assert "nothing in that span" in out.getvalue()
    assert job.extract(spark, str(tmp_path), Params()).count() == 0
    assert job.read_blocks(spark, str(tmp_path)).count() == 0
