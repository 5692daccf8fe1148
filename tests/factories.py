"""Factories for test data: devices, hit and exposure payloads."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from ingest.models import Device

_seq = itertools.count(1)


def make_device(**fields: str) -> tuple[Device, str]:
    """A registered device and its token."""
    return Device.register(**fields)


def hit(**overrides: Any) -> dict[str, Any]:
    """A valid hit in the upload contract, taken now in Geneva."""
    body: dict[str, Any] = {
        "seq": next(_seq),
        "t_ns": time.time_ns() - 60 * 10**9,
        "t_err_ns": 2_000_000,
        "lat": 46.2044,
        "lon": 6.1432,
        "alt_m": 410.0,
        "loc_err_m": 12.0,
        "x": 1203,
        "y": 877,
        "value": 212,
        "n_pixels": 7,
    }
    body.update(overrides)
    return body


def hits(n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [hit(**overrides) for _ in range(n)]


def block(**overrides: Any) -> dict[str, Any]:
    """A valid exposure block: the last ten minutes in Geneva."""
    end = time.time_ns() - 10**9
    body: dict[str, Any] = {
        "block_id": str(uuid.uuid4()),
        "start_ns": end - 600 * 10**9,
        "end_ns": end,
        "lat": 46.2044,
        "lon": 6.1432,
        "loc_err_m": 12.0,
        "frames": 18000,
        "l1_threshold": 30,
        "l2_threshold": 60,
        "n_hits": 200,
    }
    body.update(overrides)
    return body
