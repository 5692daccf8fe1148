"""crayfis.chunk: a DataChunk's blocks and events as upload items, with keys a resend repeats."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crayfis.chunk import NTP_ERR_NS, SYSTEM_CLOCK_ERR_NS, ChunkError, mapped, parse
from vocab.crayfis_pb2 import DataChunk, ExposureBlock

ROOT = Path(__file__).resolve().parents[2]


def chunk_of(*states: int, events: int = 2) -> DataChunk:
    chunk = DataChunk()
    for k, state in enumerate(states):
        block = chunk.exposure_blocks.add(
            daq_state=state, xbn=k, start_time=1_796_000_000_000 + k, end_time=1_796_000_060_000
        )
        for e in range(events):
            block.events.add(timestamp=1_796_000_001_000 + e, gps_lat=1.0, gps_lon=2.0)
    return chunk


def test_the_committed_generated_code_is_what_protoc_makes_of_the_proto(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'vocab'}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            str(ROOT / "vocab/crayfis.proto"),
        ],
        check=True,
    )
    for name in ("crayfis_pb2.py", "crayfis_pb2.pyi"):
        assert (tmp_path / name).read_text() == (ROOT / "vocab" / name).read_text(), (
            f"vocab/{name} is stale: run `make proto`"
        )


def test_only_data_blocks_are_live_time_and_only_their_events_are_hits():
    out = mapped(
        chunk_of(ExposureBlock.INIT, ExposureBlock.DATA, ExposureBlock.CALIBRATION), "p", "r"
    )
    assert len(out.blocks) == 1 and len(out.hits) == 2
    assert [o["state"] for o in out.others] == [ExposureBlock.INIT, ExposureBlock.CALIBRATION]
    assert out.hit_paths == ["exposure_blocks[1].events[0]", "exposure_blocks[1].events[1]"]


def test_keys_repeat_for_a_resend_and_differ_by_phone_run_block_and_event():
    data = chunk_of(ExposureBlock.DATA, ExposureBlock.DATA)
    again = mapped(parse(data.SerializeToString()), "p", "r")
    first = mapped(data, "p", "r")
    assert [h["seq"] for h in first.hits] == [h["seq"] for h in again.hits]
    assert [b["block_id"] for b in first.blocks] == [b["block_id"] for b in again.blocks]
    assert len({h["seq"] for h in first.hits}) == 4  # two blocks of two events
    other_phone, other_run = mapped(data, "q", "r"), mapped(data, "p", "s")
    assert {b["block_id"] for b in other_phone.blocks}.isdisjoint(
        b["block_id"] for b in first.blocks
    )
    assert {h["seq"] for h in other_run.hits}.isdisjoint(h["seq"] for h in first.hits)


def test_the_ntp_clock_is_used_when_the_app_set_it_and_the_error_says_which():
    data = chunk_of(ExposureBlock.DATA)
    data.exposure_blocks[0].events[1].timestamp_ntp = 1_796_000_001_004
    hits = mapped(data, "p", "r").hits
    assert (hits[0]["t_ns"], hits[0]["t_err_ns"]) == (
        1_796_000_001_000 * 10**6,
        SYSTEM_CLOCK_ERR_NS,
    )
    assert (hits[1]["t_ns"], hits[1]["t_err_ns"]) == (1_796_000_001_004 * 10**6, NTP_ERR_NS)


def test_an_event_without_gps_takes_the_blocks_position_and_no_pixels_leaves_them_unknown():
    data = chunk_of(ExposureBlock.DATA, events=1)
    block = data.exposure_blocks[0]
    block.gps_lat, block.gps_lon = -18.1, 178.4
    block.events[0].ClearField("gps_lat")
    hit = mapped(data, "p", "r").hits[0]
    assert (hit["lat"], hit["lon"]) == (-18.1, 178.4)
    assert hit["x"] is None and hit["n_pixels"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "empty"), (b"\xff\xff\xff", "not a CRAYFIS DataChunk"), (b"<html>", "not a CRAYFIS")],
)
def test_a_body_that_is_not_a_chunk_is_refused(body, message):
    with pytest.raises(ChunkError, match=message):
        parse(body)


def test_a_chunk_of_only_fields_it_does_not_have_is_refused():
    with pytest.raises(ChunkError, match="none of its fields"):
        parse(b"\x78\x01")  # field 15, a varint: no field of a DataChunk
