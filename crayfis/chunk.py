"""A CRAYFIS DataChunk as crowdray's upload items: exposure blocks and hits (no Django).

docs/api.md ("The CRAYFIS app") gives the mapping field by field. In short:
- a block in the DATA state is an exposure block; a block in another state
  (INIT, CALIBRATION, PRECALIBRATION) is counted for the record, but it is not
  live time and its events are not hits;
- each event of a DATA block is a hit, timed by the app's NTP-corrected clock
  when it set one (`timestamp_ntp`), else by the phone's own clock (`timestamp`),
  with a `t_err_ns` that says which;
- the keys are derived from what a resent chunk repeats byte for byte: the
  phone, the run, the block's number and start, the event's index. So a chunk
  sent again stores nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from vocab.crayfis_pb2 import DataChunk, Event, ExposureBlock
from vocab.units import NS_PER_MS

# 1 sigma clock errors (assumed): the NTP-corrected clock is good to a few ms (as the
# simulator's NTP clocks); a phone's own clock, set from the network, to about a second.
NTP_ERR_NS = 5 * NS_PER_MS
SYSTEM_CLOCK_ERR_NS = 1000 * NS_PER_MS
_KEYS = uuid.UUID("6f1c3a52-86a5-4c8e-9a51-3a0f0c7d2b10")  # the namespace of block ids


class ChunkError(ValueError):
    """A body that is not a CRAYFIS DataChunk."""


@dataclass
class Mapped:
    """A chunk's upload items, and where each came from in the chunk (for error messages)."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    block_paths: list[str] = field(default_factory=list)
    hit_paths: list[str] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)  # not DATA: for the record
    calibrations: int = 0  # calibration and pre-calibration messages: counted, not stored


def parse(raw: bytes) -> DataChunk:
    """The DataChunk of a body (ChunkError if it is not one)."""
    chunk = DataChunk()
    try:
        chunk.ParseFromString(raw)
    except DecodeError as exc:
        raise ChunkError(f"the body is not a CRAYFIS DataChunk (protobuf): {exc}") from None
    if not raw:
        raise ChunkError("the body is empty: send one serialized DataChunk")
    if not chunk.ListFields():  # only fields a DataChunk does not have: not one
        raise ChunkError("the body is not a CRAYFIS DataChunk: it holds none of its fields")
    return chunk


def _ns(ms_ntp: int, ms: int) -> tuple[int, int]:
    """(epoch ns, 1 sigma error) from the NTP-corrected ms if set, else the phone's ms."""
    if ms_ntp:
        return ms_ntp * NS_PER_MS, NTP_ERR_NS
    return ms * NS_PER_MS, SYSTEM_CLOCK_ERR_NS


def _seq(run: str, block: ExposureBlock, index: int) -> int:
    """A 63-bit hit seq, the same whenever this event of this block of this run is resent."""
    name = f"{run}:{block.xbn}:{block.start_time}:{index}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def _opt(message: Any, name: str) -> Any:
    """A proto2 optional field's value, None when the app did not set it."""
    return getattr(message, name) if message.HasField(name) else None


def _block(phone: str, run: str, block: ExposureBlock) -> dict[str, Any]:
    start_ns, _ = _ns(block.start_time_ntp, block.start_time)
    end_ns, _ = _ns(block.end_time_ntp, block.end_time)
    return {
        "block_id": str(uuid.uuid5(_KEYS, f"{phone}:{run}:{block.xbn}:{block.start_time}")),
        "start_ns": start_ns,
        "end_ns": end_ns,
        "lat": _opt(block, "gps_lat"),
        "lon": _opt(block, "gps_lon"),
        "loc_err_m": _opt(block, "gps_accuracy"),
        "frames": _opt(block, "L1_processed"),
        "l1_threshold": _opt(block, "L1_thresh"),
        "l2_threshold": _opt(block, "L2_thresh"),
        "n_hits": len(block.events),
    }


def _hit(run: str, block: ExposureBlock, index: int, event: Event) -> dict[str, Any]:
    t_ns, t_err_ns = _ns(event.timestamp_ntp, event.timestamp)
    own = event.HasField("gps_lat") and event.HasField("gps_lon")
    where = event if own else block
    brightest = max(event.pixels, key=lambda p: p.val, default=None)
    return {
        "seq": _seq(run, block, index),
        "t_ns": t_ns,
        "t_err_ns": t_err_ns,
        "lat": _opt(where, "gps_lat"),
        "lon": _opt(where, "gps_lon"),
        "alt_m": _opt(where, "gps_altitude"),
        "loc_err_m": _opt(where, "gps_accuracy"),
        "x": None if brightest is None else brightest.x,
        "y": None if brightest is None else brightest.y,
        "value": None if brightest is None else brightest.val,
        "n_pixels": len(event.pixels) if event.pixels else None,
    }


def _run(block: ExposureBlock, header_run: str) -> str:
    """The block's run: its own 128-bit id when it has one, else the Run-id header's."""
    if block.HasField("run_id") or block.HasField("run_id_hi"):
        return f"{block.run_id_hi:016x}{block.run_id:016x}"
    return header_run


def mapped(chunk: DataChunk, phone: str, header_run: str) -> Mapped:
    """The chunk's DATA blocks as exposure blocks and their events as hits.

    phone: a stable name of the phone (Device-id and Camera-id); header_run: Run-id.
    """
    out = Mapped(
        calibrations=len(chunk.calibration_results)
        + len(chunk.precalibration_results)
        + len(chunk.precalibration_updates)
    )
    for b, block in enumerate(chunk.exposure_blocks):
        run = _run(block, header_run)
        if block.daq_state != ExposureBlock.DATA:
            item = _block(phone, run, block)
            out.others.append({**item, "state": int(block.daq_state)})
            continue
        out.blocks.append(_block(phone, run, block))
        out.block_paths.append(f"exposure_blocks[{b}]")
        for e, event in enumerate(block.events):
            out.hits.append(_hit(run, block, e, event))
            out.hit_paths.append(f"exposure_blocks[{b}].events[{e}]")
    return out
