"""The analysis API: read, find, score and plot, on simulated data with known truth."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import find_showers, plots, read_exposures, read_hits, read_showers, score
from simulator.generate import SimConfig
from simulator.output import simulate_to_dir
from simulator.presets import PRESETS
from vocab.contracts import EXPOSURE_SCHEMA, HIT_SCHEMA

mpl.use("Agg")
T0 = 1_790_000_000_000_000_000
HOUR = 3600 * 10**9


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """15 minutes of the town preset: 1,000 phones on a km², 60 showers an hour."""
    out = tmp_path_factory.mktemp("town")
    simulate_to_dir(SimConfig(seed=4, **(PRESETS["town"] | {"hours": 0.25})), out, progress=False)
    return out


def write_lake(root) -> None:
    """Two hours of a lake by hand: hits on both sides of the antimeridian, two blocks."""
    hits = pa.table(
        {
            "hit_id": [1, 2, 3, 4],
            "device_id": ["a", "a", "b", "c"],
            "t_ns": [T0, T0 + HOUR, T0 + HOUR + 1, T0 + 2 * HOUR],
            "t_err_ns": [None] * 4,
            "lat": [-17.0, -17.0, -16.9, 46.2],
            "lon": [179.9, 179.9, -179.9, 6.1],
            "alt_m": [None] * 4,
            "loc_err_m": [None] * 4,
        },
        schema=HIT_SCHEMA,
    )
    for k in range(3):
        folder = root / "date=2026-09-21" / f"hour={k:02d}"
        folder.mkdir(parents=True)
        pq.write_table(
            hits.filter(pa.compute.equal(pa.array([0, 1, 1, 2]), k)), folder / "h.parquet"
        )
    blocks = pa.table(
        {
            "block_id": ["x", "y"],
            "device_id": ["a", "c"],
            "start_ns": [T0 - HOUR, T0 + HOUR],
            "end_ns": [T0, T0 + 3 * HOUR],
            "lat": [-17.0, 46.2],
            "lon": [179.9, 6.1],
        }
        | {name: [None, None] for name in EXPOSURE_SCHEMA.names[6:]},
        schema=EXPOSURE_SCHEMA,
    )
    (root / "exposures" / "date=2026-09-21").mkdir(parents=True)
    pq.write_table(blocks, root / "exposures" / "date=2026-09-21" / "e.parquet")


def test_a_lake_reads_by_time_and_by_a_box_across_the_antimeridian(tmp_path):
    write_lake(tmp_path)
    assert sorted(read_hits(tmp_path).hit_id) == [1, 2, 3, 4]
    assert sorted(read_hits(tmp_path, since=T0 + 1, until=T0 + 2 * HOUR).hit_id) == [2, 3]
    fiji = (179.5, -18.0, -179.5, -16.0)  # min_lon > max_lon: crosses 180°
    assert sorted(read_hits(tmp_path, bbox=fiji).hit_id) == [1, 2, 3]
    assert sorted(read_hits(tmp_path, since="2026-09-21T00:00:00Z").hit_id) == [1, 2, 3, 4]
    assert list(read_exposures(tmp_path).block_id.sort_values()) == ["x", "y"]
    assert list(read_exposures(tmp_path, since=T0).block_id) == ["y"]  # x ends at T0
    assert list(read_exposures(tmp_path, bbox=fiji).block_id) == ["x"]


def test_an_empty_selection_is_an_empty_frame_and_a_missing_path_says_so(tmp_path):
    write_lake(tmp_path)
    assert read_hits(tmp_path, since=T0 + 10 * HOUR).empty
    with pytest.raises(FileNotFoundError, match="no hits here"):
        read_hits(tmp_path / "nowhere")


def test_the_search_finds_the_towns_showers_and_the_score_says_how_well(town):
    hits, exposures = read_hits(town), read_exposures(town)
    truth = pd.read_parquet(town / "truth.parquet")
    found = find_showers(hits, exposures)
    result = score(found, truth)
    visible = (truth.n_devices >= 10).sum()
    assert visible >= 10
    # Measured (seed 4, 12 showers, 10 of them >= 10 phones): efficiency 1.0, no
    # chance candidate, median core error 19 m, median dlog10 E -0.12. Few showers,
    # so the bounds are looser than tests/coincidence/test_efficiency.py's.
    assert result.efficiency >= 0.9
    assert result.chance == 0 and result.purity == 1.0
    assert result.median_core_err_m <= 30
    assert abs(result.median_dlog10_e) <= 0.15
    table = result.by("n_devices", [10, 30, 100, 10_000])
    assert table.showers.sum() == visible


def test_a_runs_output_reads_back(tmp_path):
    from tests.factories import search_result, shower_row

    search_result(tmp_path, [shower_row("S1", [1, 2, 3], T0)], (T0, T0 + HOUR))
    assert list(read_showers(tmp_path).shower_id) == ["S1"]


def test_the_figures_draw_what_they_show(town):
    hits, exposures = read_hits(town), read_exposures(town)
    truth = pd.read_parquet(town / "truth.parquet")
    found = find_showers(hits, exposures)
    ax = plots.efficiency_curve({"1,000 / km²": score(found, truth)})
    assert len(ax.get_lines()) == 1
    spectrum = plots.multiplicity_spectrum(found)
    assert sum(p.get_height() for p in spectrum.patches) == len(found)
    best = found.sort_values("significance_sigma").iloc[-1]
    foot = plots.footprint(best, hits, exposures)
    silent, fired = (c.get_offsets().shape[0] for c in foot.collections[:2])
    assert fired == best.n_hits
    assert silent > 0  # live phones that did not fire


def test_the_world_map_draws_coastlines_without_lines_across_the_antimeridian():
    ax = plots.world_map()
    lines = ax.get_lines()
    assert len(lines) > 100  # every land ring, Fiji's split at 180°
    widest = max(
        float(np.max(np.abs(np.diff(line.get_xdata()))))
        for line in lines
        if len(line.get_xdata()) > 1
    )
    assert widest <= 180
