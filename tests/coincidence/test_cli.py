"""`crowdray coincidence` end to end: lake pruning, outputs, errors, a standalone cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from coincidence.params import Params
from coincidence.reference import find_showers
from crowdray.process import free_port
from simulator.scenarios import simulate_town
from tests.coincidence.factories import T0, S, background, network, showers, with_ids
from vocab.contracts import EXPOSURE_SCHEMA, HIT_SCHEMA, SHOWER_SCHEMA, write_lake


def sample_hits(seed: int = 1, span_s: int = 3 * 3600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    net = network(rng, [(46.2, 6.14)], per_group=40, spread_m=500)
    shower_hits, _ = showers(rng, net, 30, span_s)
    data = pd.concat([background(rng, net, 0.01, span_s), shower_hits.drop(columns="shower")])
    return with_ids(data, rng)


def as_table(df: pd.DataFrame) -> pa.Table:
    full = df.assign(t_err_ns=2_000_000, alt_m=None, loc_err_m=None)
    return pa.Table.from_pandas(full[HIT_SCHEMA.names], schema=HIT_SCHEMA, preserve_index=False)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crowdray.cli", "coincidence", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def read_showers(out: Path) -> pd.DataFrame:
    table = pq.read_table(out / "showers")
    assert table.schema.equals(SHOWER_SCHEMA, check_metadata=False)
    return table.to_pandas().sort_values("shower_id").reset_index(drop=True)


def test_it_searches_a_lake_within_since_until_and_writes_showers_and_a_summary(tmp_path):
    data = sample_hits()
    lake = tmp_path / "lake"
    write_lake(as_table(data), str(lake))
    assert len(list(lake.glob("date=*/hour=*"))) >= 3
    since, until = T0 + 3600 * S, T0 + 2 * 3600 * S
    out = str(tmp_path / "out")
    span = ["--since", str(since), "--until", str(until)]
    tiles = ["--cell-m", "3000", "--bucket-s", "120"]  # smaller tiles, the same showers
    result = run_cli("--input", str(lake), "--output", out, *span, *tiles, "--master", "local[2]")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    in_span = data[(data.t_ns >= since) & (data.t_ns < until)]
    assert summary["counts"]["hits"] == len(in_span)
    expected = find_showers(data, Params(since_ns=since, until_ns=until))
    got = read_showers(tmp_path / "out")
    assert summary["counts"]["showers"] == len(got) == len(expected) > 0
    assert list(got.shower_id) == sorted(expected.shower_id)
    assert summary["parameters"]["window_ms"] == 50.0
    assert summary["parameters"]["cell_m"] == 3000


def test_a_missing_input_is_a_clear_error(tmp_path):
    result = run_cli("--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "PATH_NOT_FOUND" in result.stderr or "does not exist" in result.stderr


def test_input_without_the_hit_columns_is_a_clear_error(tmp_path):
    pq.write_table(pa.table({"hit_id": [1], "when": [2]}), tmp_path / "bad.parquet")
    result = run_cli("--input", str(tmp_path / "bad.parquet"), "--output", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "missing columns device_id, t_ns, lat, lon" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-devices", "1"], "min_devices=1: must be at least 2"),
        (["--window-ms", "0"], "window_ms=0.0"),
        (["--since", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["--max-expected", "0"], "max_expected=0.0: must be positive"),
        (["--efficiency", "2"], "efficiency in (0, 1]"),
        (["--scrambles", "-1"], "--scrambles must be 0 or more"),
        (["--cell-m", "500"], "cell_m must be at least radius_m"),
        (["--bucket-s", "0.05"], "bucket_s must be at least twice the window"),
        (["--max-hits-per-min", "-1"], "max_hits_per_min must be 0 (no cap) or more"),
    ],
)
def test_bad_options_are_refused_before_spark_starts(tmp_path, args, message):
    result = run_cli("--input", "x", "--output", str(tmp_path), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_exposures_give_fitted_showers_and_scrambles_a_chance_report(tmp_path):
    town = simulate_town(
        tmp_path / "town", seed=4, per_km2=500, side_km=2, hours=0.25, showers_per_hour=120
    )
    out = tmp_path / "out"
    result = run_cli(
        "--input",
        str(tmp_path / "town" / "hits.parquet"),
        "--output",
        str(out),
        "--exposures",
        str(tmp_path / "town" / "exposures.parquet"),
        "--scrambles",
        "2",
        "--master",
        "local[2]",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    expected = find_showers(town.hits, Params(), town.exposures)
    assert summary["fit_status"] == expected.attrs["fit_status"]
    assert summary["fit_status"].get("fitted", 0) >= 10
    got = read_showers(out)
    assert list(got.shower_id) == sorted(expected.shower_id)
    assert got.log10_energy_ev.notna().sum() == summary["fit_status"]["fitted"]
    chance = summary["chance"]
    assert chance["scrambles"] == 2
    rows = {(r["radius_m"], r["k"]): r for r in chance["cylinders"]}
    assert rows[(125.0, 3)]["model"] > 0 and rows[(125.0, 3)]["scrambled"] is not None
    # Showers make the data richer in big cylinders than chance, scrambled or modelled.
    assert rows[(250.0, 8)]["data"] > rows[(250.0, 8)]["scrambled"] + 5
    timings = summary["timings_s"]
    assert set(timings) == {"read", "floods", "rates", "candidates", "search", "fit", "total"}
    assert timings["search"] == pytest.approx(timings["rates"] + timings["candidates"], abs=0.002)


def test_the_same_job_runs_unchanged_on_a_standalone_cluster(tmp_path):
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(spark_class.parents[1])}
    port, ui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    logs = [open(tmp_path / name, "w") for name in ("master.log", "worker.log")]  # noqa: SIM115
    master = subprocess.Popen(
        [
            str(spark_class),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
        ],
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [
            str(spark_class),
            "org.apache.spark.deploy.worker.Worker",
            master_url,
            "--host",
            "127.0.0.1",
            "--cores",
            "1",
            "--memory",
            "2g",
            "--webui-port",
            str(free_port()),
        ],
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                state = requests.get(f"http://127.0.0.1:{ui}/json/", timeout=5).json()
                if state.get("aliveworkers", 0) >= 1:
                    break
            except (requests.ConnectionError, ValueError):
                pass
            assert time.monotonic() < deadline, (tmp_path / "master.log").read_text()[-2000:]
            time.sleep(1)
        data = sample_hits(seed=2, span_s=1800)
        pq.write_table(as_table(data), tmp_path / "hits.parquet")
        result = run_cli(
            "--input",
            str(tmp_path / "hits.parquet"),
            "--output",
            str(tmp_path / "out"),
            "--master",
            master_url,
            "--driver-memory",
            "1g",
            "--shuffle-partitions",
            "2",
            env=env,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads((tmp_path / "out" / "summary.json").read_text())
        assert summary["master"] == master_url
        expected = find_showers(data, Params()).sort_values("shower_id")
        assert list(read_showers(tmp_path / "out").shower_id) == list(expected.shower_id)
        assert len(expected) > 0
    finally:
        for proc in (worker, master):
            proc.terminate()
            proc.wait(timeout=30)
        for log in logs:
            log.close()


def test_an_empty_lake_or_file_gives_an_empty_shower_file_in_the_contract(tmp_path):
    (tmp_path / "lake").mkdir()
    pq.write_table(HIT_SCHEMA.empty_table(), tmp_path / "none.parquet")
    pq.write_table(EXPOSURE_SCHEMA.empty_table(), tmp_path / "no-blocks.parquet")
    files = (tmp_path / "none.parquet", tmp_path / "no-blocks.parquet")
    for name, (source, blocks) in (("lake", (tmp_path / "lake",) * 2), ("file", files)):
        out = tmp_path / f"out-{name}"
        done = run_cli("--input", str(source), "--exposures", str(blocks), "--out", str(out))
        assert done.returncode == 0, done.stderr[-2000:]
        assert read_showers(out).empty, name
        summary = json.loads((out / "summary.json").read_text())
        assert summary["counts"] == {"hits": 0, "showers": 0}, name
