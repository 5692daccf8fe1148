"""The fleet's phones speaking as the CRAYFIS app: one DataChunk per phone per upload.

Each upload holds one exposure block in the DATA state over the upload's interval
(the fleet's phones run all the time) with the phone's GPS fix and that interval's
hits as its events. An event carries its hit's time as the app's NTP-corrected
clock (`timestamp_ntp`, milliseconds: the sub-millisecond part is lost, as on the
app), its position and GPS error, and the hit's brightest pixel as its one pixel.
The headers are the app's, with the Hash-code of the server's salt.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd

from vocab.crayfis import hash_code
from vocab.crayfis_pb2 import DataChunk, ExposureBlock
from vocab.units import NS_PER_MS

APP_VERSION = "b crowdray-sim"
_RUNS = uuid.UUID("0d7e9b7e-5a2c-4a53-9d0e-6a8f39c3e1aa")  # the namespace of the phones' runs


def phone_name(seed: int, device: int) -> str:
    """A virtual phone's Device-id."""
    return f"sim-{seed}-{device}"


def chunk(
    hits: pd.DataFrame, start_ns: int, end_ns: int, xbn: int, place: tuple[float, float, float]
) -> bytes:
    """One DATA block over [start_ns, end_ns) with these hits (of one phone) as its events.

    `place` is the phone's (lat, lon, accuracy in m): the block's GPS fix, which the
    server needs even when the block has no events.
    """
    data = DataChunk()
    block = data.exposure_blocks.add(
        daq_state=ExposureBlock.DATA,
        xbn=xbn,
        start_time=start_ns // NS_PER_MS,
        end_time=end_ns // NS_PER_MS,
        start_time_ntp=start_ns // NS_PER_MS,
        end_time_ntp=end_ns // NS_PER_MS,
    )
    block.gps_lat, block.gps_lon, block.gps_accuracy = (float(v) for v in place)
    columns = ("t_ns", "lat", "lon", "loc_err_m", "x", "y", "value")
    t_ns, lat, lon, err, x, y, value = (hits[c].to_numpy() for c in columns)
    for k in range(len(hits)):
        ms = int(t_ns[k]) // NS_PER_MS
        event = block.events.add(timestamp=ms, timestamp_ntp=ms)
        event.gps_lat, event.gps_lon, event.gps_accuracy = (
            float(lat[k]),
            float(lon[k]),
            float(err[k]),
        )
        event.pixels.add(x=int(x[k]), y=int(y[k]), val=int(value[k]))
    return data.SerializeToString()


def headers(name: str, body: bytes, salt: str) -> dict[str, Any]:
    """The app's headers for this phone's upload of `body`."""
    return {
        "Content-type": "application/octet-stream",
        "Device-id": name,
        "Camera-id": "0",
        "Run-id": str(uuid.uuid5(_RUNS, name)),  # one run per phone for the whole fleet
        "Crayfis-version": APP_VERSION,
        "Crayfis-version-code": "1",
        "Hash-code": hash_code(salt, body),
    }
