"""The batch search on bad input: a clear message naming the file, the day or the device.

A lake with a day missing, a corrupt file, a phone flooding 10^5 hits into one
minute, a search that runs out of memory. Through job.main on the test run's
Spark session, and through `crowdray coincidence` where the command's own
output (no stack trace, the exit code) is what a user sees.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from coincidence import job
from coincidence.failures import SearchError
from coincidence.params import Params
from coincidence.reference import find_showers
from tests.coincidence.factories import T0, S, background, network, showers, with_ids
from tests.coincidence.test_cli import as_table, read_showers, run_cli
from vocab.contracts import write_lake
from vocab.units import NS_PER_MIN, NS_PER_S

DAY = 86_400 * S


def town(seed: int = 3, span_s: int = 600) -> pd.DataFrame:
    """300 phones with ten showers over span_s seconds from T0."""
    rng = np.random.default_rng(seed)
    net = network(rng, [(46.2, 6.14)], per_group=300, spread_m=400)
    shower_hits, _ = showers(rng, net, 10, span_s)
    data = pd.concat([background(rng, net, 0.05, span_s), shower_hits.drop(columns="shower")])
    return with_ids(data, rng)


def flood(data: pd.DataFrame, n: int, seed: int = 4, within_ns: int = NS_PER_MIN) -> pd.DataFrame:
    """The hits of data, and a broken phone at its first phone's place: n hits in one minute.

    within_ns: the hits all fall within this much of the minute's start.
    """
    rng = np.random.default_rng(seed)
    minute = (T0 // NS_PER_MIN + 2) * NS_PER_MIN
    hits = pd.DataFrame(
        {
            "hit_id": data["hit_id"].max() + 1 + np.arange(n),
            "device_id": "broken",
            "t_ns": minute + rng.integers(0, within_ns, n),
            "lat": data["lat"].iloc[0],
            "lon": data["lon"].iloc[0],
        }
    )
    return pd.concat([data, hits], ignore_index=True)


def three_days(tmp_path, missing: bool):
    """A lake of the town on three days, T0's and the two after; the middle one maybe left out."""
    data = town()
    days = [data.assign(t_ns=data.t_ns + k * DAY, hit_id=data.hit_id + k * 10**7) for k in range(3)]
    if missing:
        del days[1]
    lake = tmp_path / "lake"
    write_lake(as_table(pd.concat(days, ignore_index=True)), str(lake))
    return lake


def test_a_day_missing_from_the_lake_is_refused_naming_the_day(spark, tmp_path):
    lake = three_days(tmp_path, missing=True)
    gap = sorted(p.name for p in lake.glob("date=*"))
    with pytest.raises(ValueError, match="holds no hits for 2026-09-22, inside the span"):
        job.main(spark, str(lake), tmp_path / "out", Params())
    assert gap == ["date=2026-09-21", "date=2026-09-23"]
    # A span beyond the lake's last day counts as missing too; within its days it is fine.
    late = Params(since_ns=T0, until_ns=T0 + 3 * DAY)
    with pytest.raises(ValueError, match="2026-09-22, 2026-09-24"):
        job.main(spark, str(lake), tmp_path / "out", late)
    one_day = Params(since_ns=T0 + 2 * DAY, until_ns=T0 + 2 * DAY + 600 * S)
    assert job.main(spark, str(lake), tmp_path / "out", one_day)["missing_days"] == []


def test_a_missing_day_is_searched_when_allowed_and_listed_in_the_summary(spark, tmp_path):
    lake = three_days(tmp_path, missing=True)
    summary = job.main(spark, str(lake), tmp_path / "out", Params(), allow_missing_days=True)
    assert summary["missing_days"] == ["2026-09-22"]
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["missing_days"] == ["2026-09-22"]
    assert summary["counts"]["showers"] > 0
    assert summary["floods"] is None  # no phone over the cap
    assert job.check_days(str(three_days(tmp_path / "whole", missing=False)), Params()) == []


def test_a_corrupt_file_is_named_without_a_stack_trace(tmp_path):
    lake = three_days(tmp_path, missing=False)
    bad = next(lake.glob("date=2026-09-22/hour=*")) / "part-9.parquet"
    bad.write_bytes(b"PAR1" + b"\0" * 100)  # a Parquet file's head, no footer
    result = run_cli("--input", str(lake), "--output", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"cannot read {bad}: the file is not a Parquet file" in result.stderr
    assert "crowdray export" in result.stderr
    assert "Traceback" not in result.stderr and "\tat org.apache" not in result.stderr


def test_a_flooding_phone_is_cut_to_its_first_hits_of_the_minute_and_reported(spark, tmp_path):
    data = flood(town(), 20_000)
    pq.write_table(as_table(data), tmp_path / "hits.parquet")
    summary = job.main(spark, str(tmp_path / "hits.parquet"), tmp_path / "out", Params())
    floods = summary["floods"]
    assert floods is not None
    assert (floods["minutes"], floods["devices"], floods["hits_not_searched"]) == (1, 1, 19_940)
    assert floods["largest"][0]["device_id"] == "broken"
    assert floods["largest"][0]["hits"] == 20_000
    assert floods["largest"][0]["minute"].endswith(":00.000Z")
    got = read_showers(tmp_path / "out")
    expected = find_showers(data, Params())  # the reference cuts the flood alike
    assert list(got.shower_id) == sorted(expected.shower_id)
    unflooded = find_showers(town(), Params())
    assert set(unflooded.shower_id) <= set(got.shower_id)  # the town's showers stay found
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["floods"] == floods


def test_running_out_of_memory_names_the_stage_and_what_to_change(tmp_path):
    # Without the cap, a phone with 4 x 10^5 hits in one second takes a task's Python past
    # 3 GB: a time slice of the cylinders' search holds 2 x 10^4 of its hits, all linked
    # to one another (~4 x 10^8 pairs).
    crowded = flood(town(), 400_000, within_ns=NS_PER_S)
    pq.write_table(as_table(crowded), tmp_path / "hits.parquet")
    result = run_cli(
        "--input",
        str(tmp_path / "hits.parquet"),
        "--output",
        str(tmp_path / "out"),
        "--max-hits-per-min",
        "0",
        "--python-memory",
        "3g",
        "--master",
        "local[2]",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "out of memory in the candidates stage" in result.stderr
    assert "--python-memory" in result.stderr and "--since" in result.stderr
    assert "Traceback" not in result.stderr


def test_spark_failures_are_explained_by_stage():
    assert "the fits stage failed: boom" in str(job_error("boom", "fits"))
    assert job_error("java.lang.OutOfMemoryError: Java heap space", "rates").out_of_memory


def job_error(message: str, stage: str) -> SearchError:
    from coincidence.failures import explain

    return explain(RuntimeError(message), stage)
