"""`crowdray release`: a data package that reads back equal to the database, with privacy kept."""

from __future__ import annotations

import hashlib
import json
import time
from io import StringIO

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from ingest.models import ExposureBlock, Hit, Shower
from tests.factories import block, hit, make_shower
from vocab.cells import cell_of
from vocab.contracts import EXPOSURE_SCHEMA, HIT_SCHEMA, SHOWER_SCHEMA

pytestmark = pytest.mark.postgres
MIN = 60 * 10**9


@pytest.fixture
def network(client_for):
    """Two phones' hits (one outside the range), a block each, a shower of three hits."""
    now = time.time_ns()
    phones = [client_for(), client_for()]
    for k, phone in enumerate(phones):
        sent = [
            hit(seq=s, t_ns=now - (10 + s) * MIN, lat=46.2043 + k / 1000, lon=6.1431, alt_m=375.4)
            for s in range(3)
        ]
        sent.append(hit(seq=99, t_ns=now - 600 * MIN))  # before the range
        assert phone.post("/api/v1/hits", {"hits": sent}, format="json").status_code == 201
        blocks = [block(start_ns=now - 30 * MIN, end_ns=now - 5 * MIN)]
        assert phone.post("/api/v1/exposures", {"blocks": blocks}, format="json").status_code == 201
    members = list(Hit.objects.filter(t_ns__gt=now - 60 * MIN).order_by("id")[:3])
    make_shower(
        shower_id="S7",
        t_ns=now - 11 * MIN,
        hits_of=members,
        lat=46.2043,
        lon=6.1431,
        core_lat=46.20431,
        core_lon=6.14312,
    )
    return now


def release(tmp_path, now, *extra: str) -> str:
    out = StringIO()
    call_command(
        "release",
        "--since",
        str(now - 60 * MIN),
        "--until",
        str(now),
        "--out",
        str(tmp_path / "r"),
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_a_release_reads_back_equal_to_the_database_in_the_contracts(tmp_path, network):
    said = release(tmp_path, network)
    assert said.startswith("released 6 hits, 2 exposure blocks and 1 showers")
    r = tmp_path / "r"
    hits = pq.read_table(r / "hits.parquet")
    assert hits.schema.equals(HIT_SCHEMA, check_metadata=False)
    in_range = Hit.objects.filter(t_ns__gte=network - 60 * MIN, t_ns__lt=network)
    assert sorted(hits.column("hit_id").to_pylist()) == sorted(
        in_range.values_list("id", flat=True)
    )
    assert sorted(hits.column("t_ns").to_pylist()) == sorted(
        in_range.values_list("t_ns", flat=True)
    )
    blocks = pq.read_table(r / "exposures.parquet")
    assert blocks.schema.equals(EXPOSURE_SCHEMA, check_metadata=False)
    assert blocks.num_rows == ExposureBlock.objects.count()
    showers = pq.read_table(r / "showers.parquet").to_pylist()
    assert pq.read_table(r / "showers.parquet").schema.equals(SHOWER_SCHEMA, check_metadata=False)
    (shower,) = showers
    stored = Shower.objects.get()
    assert shower["hit_ids"] == sorted(stored.hits.values_list("id", flat=True))
    assert shower["significance_sigma"] == stored.significance_sigma


def test_positions_are_cell_centres_and_ids_are_pseudonyms_of_this_release(tmp_path, network):
    release(tmp_path, network)
    r = tmp_path / "r"
    hits = pq.read_table(r / "hits.parquet").to_pandas()
    for lat, lon in zip(hits.lat, hits.lon, strict=True):
        _, clat, clon = cell_of(lat, lon)
        assert (lat, lon) == (clat, clon)  # already a centre
    assert set(hits.alt_m) == {400.0}
    real = {str(d) for d in Hit.objects.values_list("device_id", flat=True)}
    assert not set(hits.device_id) & real and hits.device_id.nunique() == 2
    shower = pq.read_table(r / "showers.parquet").to_pylist()[0]
    members = set(hits[hits.hit_id.isin(shower["hit_ids"])].device_id)
    assert set(shower["device_ids"]) == members  # the same pseudonyms across the files
    assert (shower["core_lat"], shower["core_lon"]) == cell_of(46.20431, 6.14312)[1:]
    text = (r / "hits.parquet").read_bytes() + (r / "showers.parquet").read_bytes()
    assert b"46.2043" not in text
    release(tmp_path / "again", network)
    again = pq.read_table(tmp_path / "again" / "r" / "hits.parquet").to_pandas()
    assert not set(again.device_id) & set(hits.device_id)  # another release, other pseudonyms


def test_the_package_describes_every_column_and_its_checksums_hold(tmp_path, network):
    release(tmp_path, network, "--title", "Geneva test", "--release-version", "2")
    r = tmp_path / "r"
    package = json.loads((r / "datapackage.json").read_text())
    assert package["version"] == "2" and package["title"] == "Geneva test"
    for resource, schema in zip(
        package["resources"], (HIT_SCHEMA, EXPOSURE_SCHEMA, SHOWER_SCHEMA), strict=True
    ):
        assert [f["name"] for f in resource["schema"]["fields"]] == schema.names
        assert all(f["description"] for f in resource["schema"]["fields"])
    units = {f["name"]: f.get("unit") for f in package["resources"][0]["schema"]["fields"]}
    assert units["t_ns"] == "ns" and units["lat"] == "degree"
    datacite = json.loads((r / "datacite.json").read_text())
    assert datacite["types"]["resourceTypeGeneral"] == "Dataset"
    assert datacite["titles"] == [{"title": "Geneva test"}]
    provenance = json.loads((r / "provenance.json").read_text())
    assert provenance["software"]["name"] == "crowdray" and len(provenance["searches"]) == 1
    for line in (r / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((r / name).read_bytes()).hexdigest() == digest
    assert len((r / "SHA256SUMS").read_text().splitlines()) == 6


def test_refusals_name_the_problem(tmp_path, network):
    release(tmp_path, network)
    with pytest.raises(CommandError, match="not empty"):
        release(tmp_path, network)
    with pytest.raises(CommandError, match="finer than the public"):
        release(tmp_path / "fine", network, "--grid-km", "0.1")
    with pytest.raises(CommandError, match="--since/--until"):
        call_command(
            "release",
            "--since",
            "yesterday",
            "--until",
            "now",
            "--out",
            str(tmp_path / "x"),
            stdout=StringIO(),
        )


@pytest.mark.django_db
def test_a_span_with_nothing_releases_valid_empty_files_and_says_so(tmp_path):
    said = release(tmp_path, time.time_ns())
    assert "released 0 hits, 0 exposure blocks and 0 showers" in said
    assert "nothing in that span" in said
    for name, schema in (
        ("hits", HIT_SCHEMA),
        ("exposures", EXPOSURE_SCHEMA),
        ("showers", SHOWER_SCHEMA),
    ):
        table = pq.read_table(tmp_path / "r" / f"{name}.parquet")
        assert table.num_rows == 0 and table.schema.equals(schema, check_metadata=False), name
