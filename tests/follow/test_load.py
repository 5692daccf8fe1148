"""crowdray load-showers: candidates into the database, linked to hits, replaced on rerun."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from follow.load import load_result
from ingest.models import Hit, Shower
from ingest.store import insert_hits
from tests.factories import make_device, search_result, shower_row
from vocab.contracts import RECONSTRUCTION, SHOWER_SCHEMA
from vocab.units import NS_PER_DAY, NS_PER_MS

pytestmark = pytest.mark.postgres
T0 = 1_790_000_000_000_000_000
MS = NS_PER_MS


def write_result(path, showers: list[dict[str, Any]], span=(T0, T0 + 10**12)) -> None:
    search_result(path, showers, span)


def shower(shower_id: str, hit_ids: list[int], t: int = T0 + 5) -> dict[str, Any]:
    return shower_row(shower_id, hit_ids, t)


def test_loading_links_showers_to_their_hits_and_a_rerun_replaces_them(db, tmp_path):
    device, _ = make_device()
    insert_hits(
        device.id, {"seq": [1, 2, 3], "t_ns": [T0] * 3, "lat": [46.2] * 3, "lon": [6.1] * 3}
    )
    ids = sorted(Hit.objects.values_list("id", flat=True))
    write_result(tmp_path, [shower(f"S{ids[0]}", [*ids, 999_999])])
    first = load_result(tmp_path)
    assert (first["showers"], first["links"]) == (1, 3)  # the unknown hit id is skipped
    assert sorted(Shower.objects.get().hits.values_list("id", flat=True)) == ids
    again = load_result(tmp_path)
    assert Shower.objects.count() == 1 and again["search"] != first["search"]
    assert again["replaced"] == 1  # showers, not their links


def test_showers_across_midnight_and_days_apart_are_linked_to_every_member(db, tmp_path):
    device, _ = make_device()
    midnight = (T0 // NS_PER_DAY + 1) * NS_PER_DAY
    times = [midnight - 4 * MS, midnight + 3 * MS, midnight + 9 * MS, midnight + 3 * NS_PER_DAY]
    body: dict[str, list[Any]] = {
        "seq": [1, 2, 3, 4],
        "t_ns": times,
        "lat": [46.2] * 4,
        "lon": [6.1] * 4,
    }
    insert_hits(device.id, body)
    ids = list(Hit.objects.order_by("t_ns").values_list("id", flat=True))
    across = shower(f"S{ids[0]}", ids[:3], times[1]) | {"t_spread_ns": 13 * MS}
    later = shower(f"S{ids[3]}", ids[3:], times[3])
    write_result(tmp_path, [across, later], (midnight - NS_PER_DAY, midnight + 4 * NS_PER_DAY))
    assert load_result(tmp_path)["links"] == 4
    linked = {
        s.shower_id: sorted(s.hits.values_list("id", flat=True)) for s in Shower.objects.all()
    }
    assert linked == {f"S{ids[0]}": ids[:3], f"S{ids[3]}": ids[3:]}


def test_a_new_search_of_the_same_span_replaces_old_candidates(db, tmp_path):
    write_result(tmp_path, [shower("S1", []), shower("S2", [])])
    load_result(tmp_path)
    write_result(tmp_path, [shower("S3", [])])
    load_result(tmp_path)
    assert list(Shower.objects.values_list("shower_id", flat=True)) == ["S3"]


def test_a_directory_that_is_not_a_result_is_a_clear_error(db, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"summary\.json not found"):
        load_result(tmp_path)


def test_the_core_and_energy_fit_is_stored_and_a_result_without_it_loads_with_nulls(db, tmp_path):
    fit = {
        "core_lat": 46.2011,
        "core_lon": 6.1022,
        "core_err_m": 14.0,
        "log10_energy_ev": 19.73,
        "log10_energy_err": 0.09,
        "n_silent": 41,
    }
    fitted = shower("S1", []) | fit
    write_result(tmp_path, [fitted, shower("S2", [])])
    load_result(tmp_path)
    one, two = Shower.objects.order_by("shower_id")
    assert (one.core_lat, one.log10_energy_ev, one.n_silent) == (46.2011, 19.73, 41)
    assert two.core_lat is None and two.log10_energy_err is None
    # A result from before the fit existed: the shower columns end at significance_sigma.
    old = pa.schema([f for f in SHOWER_SCHEMA if f.name not in RECONSTRUCTION])
    pq.write_table(
        pa.Table.from_pylist([shower("S3", [])], old), tmp_path / "showers" / "part-0.parquet"
    )
    load_result(tmp_path)
    assert Shower.objects.get().log10_energy_ev is None


def test_a_result_from_before_whole_showers_loads_its_cores_as_the_core_counts(db, tmp_path):
    write_result(tmp_path, [])
    old = pa.schema([f for f in SHOWER_SCHEMA if not f.name.startswith("n_core_")])
    row = {k: v for k, v in shower("S7", [1, 2, 3, 4]).items() if not k.startswith("n_core_")}
    pq.write_table(pa.Table.from_pylist([row], old), tmp_path / "showers" / "part-0.parquet")
    load_result(tmp_path)
    stored = Shower.objects.get()
    assert (stored.n_devices, stored.n_hits) == (3, 4)
    assert (stored.n_core_devices, stored.n_core_hits) == (3, 4)


def test_a_search_that_found_nothing_loads_and_clears_its_span(db, tmp_path):
    write_result(tmp_path, [shower("S1", [])])
    load_result(tmp_path)
    empty = tmp_path / "empty"
    write_result(empty, [])
    out = StringIO()
    call_command("load_showers", str(empty), stdout=out)
    assert "loaded 0 showers" in out.getvalue()
    assert Shower.objects.count() == 0  # the span was searched again and holds none
