"""`crowdray simulate --out`: files, reproducibility, streaming, showers that can be found."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq

from coincidence.params import Params
from coincidence.reference import find_showers
from simulator.generate import SimConfig
from simulator.network import Place
from simulator.output import simulate_to_dir

FILES = ("hits.parquet", "truth.parquet", "devices.parquet", "exposures.parquet")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    args = ["--devices", "80", "--hours", "1", "--inject-per-hour", "5"]
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "crowdray.cli",
                "simulate",
                "--out",
                str(tmp_path / name),
                "--seed",
                seed,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "hits/s" in result.stderr
    for file in FILES:
        assert digest(tmp_path / "a" / file) == digest(tmp_path / "b" / file), file
    assert digest(tmp_path / "a" / "hits.parquet") != digest(tmp_path / "c" / "hits.parquet")


def test_hits_follow_the_contract_with_sparse_unique_ids_in_no_order(tmp_path):
    summary = simulate_to_dir(SimConfig(seed=3, devices=200, hours=2, always_on=True), tmp_path)
    hits = pq.read_table(tmp_path / "hits.parquet").to_pandas()
    assert summary["hits"] == len(hits) > 1000
    assert hits.hit_id.is_unique
    assert hits.hit_id.max() > 1.5 * len(hits)
    assert not hits.t_ns.is_monotonic_increasing
    for column in ("hit_id", "device_id", "t_ns", "lat", "lon", "t_err_ns", "alt_m", "loc_err_m"):
        assert column in hits.columns


def test_large_runs_stream_into_a_dataset_of_several_files(tmp_path):
    config = SimConfig(seed=4, devices=300, hours=3, always_on=True, chunk_hits=5000)
    summary = simulate_to_dir(config, tmp_path, rows_per_file=4000)
    parts = sorted((tmp_path / "hits.parquet").glob("part-*.parquet"))
    assert len(parts) > 3
    assert sum(pq.read_metadata(p).num_rows for p in parts) == summary["hits"]
    blocks = pq.read_table(tmp_path / "exposures.parquet").to_pandas()
    assert blocks.n_hits.sum() == summary["hits"]


def test_injected_showers_on_a_dense_town_are_found_by_the_search(tmp_path):
    town = (Place("campus", 46.2, 6.14, 1, 150),)
    config = SimConfig(
        seed=6,
        devices=300,
        hours=1,
        places=town,
        always_on=True,
        inject_per_hour=20,
        energy_min_ev=1e19,
        energy_max_ev=1e21,
        sensor_area_m2=1e-3,
    )
    simulate_to_dir(config, tmp_path)
    truth = pq.read_table(tmp_path / "truth.parquet").to_pandas()
    hits = pq.read_table(tmp_path / "hits.parquet").to_pandas()
    visible = truth[truth.n_devices >= 3]
    assert len(visible) >= 5
    found = find_showers(hits, Params())
    found_ids = [set(ids) for ids in found.hit_ids]
    for ids in visible.hit_ids:
        assert any(len(set(ids) & f) >= 3 for f in found_ids)
    assert set(np.concatenate(truth.hit_ids.to_numpy())) <= set(hits.hit_id)


def test_hot_pixel_phones_repeat_one_pixel(tmp_path):
    simulate_to_dir(SimConfig(seed=9, devices=400, hours=2, always_on=True), tmp_path)
    hits = pq.read_table(tmp_path / "hits.parquet").to_pandas()
    devices = pq.read_table(tmp_path / "devices.parquet").to_pandas()
    hot = set(devices.device_id[devices.hot])
    assert hot
    pixels = hits.groupby("device_id")[["x", "y"]].nunique()
    assert (pixels.loc[list(hot & set(pixels.index))] == 1).all().all()
    assert (pixels.drop(index=list(hot), errors="ignore").x > 1).mean() > 0.9


def test_the_default_simulation_has_showers_that_fire_phones(tmp_path):
    """No options but --out (and a shorter run): the town preset, where showers are visible."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdray.cli",
            "simulate",
            "--out",
            str(tmp_path),
            "--hours",
            "0.25",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    truth = pq.read_table(tmp_path / "truth.parquet").to_pandas()
    assert len(truth) >= 5
    assert (truth.n_devices >= 3).mean() >= 0.8


def test_presets_set_the_scenario_and_options_override_them(tmp_path):
    from simulator.cli import build_parser, chosen
    from simulator.presets import DEMO_SENSOR_AREA_M2

    demo = chosen(build_parser().parse_args(["--out", "x", "--preset", "demo", "--devices", "9"]))
    assert demo["devices"] == 9 and demo["sensor_area_m2"] == DEMO_SENSOR_AREA_M2
    assert [p.name for p in demo["places"]] == ["Geneva", "Krakow", "Suva"]
    world = chosen(build_parser().parse_args(["--out", "x", "--preset", "world"]))
    assert world["devices"] == 500 and "inject_per_hour" not in world  # the physical flux
    boxed = chosen(
        build_parser().parse_args(["--out", "x", "--preset", "demo", "--box", "6,46,6.1,46.1"])
    )
    assert "places" not in boxed and boxed["box"] == (6.0, 46.0, 6.1, 46.1)
