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


def make_shower(hits_of: list[Any] | None = None, **fields: Any) -> Any:
    """A loaded shower candidate (and its search run), linked to the given Hit rows.

    With hits, its t_ns and t_spread_ns are theirs unless given.
    """
    from ingest.models import SearchRun, Shower

    search = SearchRun.objects.create(params={"window_ms": 50.0, "radius_m": 1000.0})
    values: dict[str, Any] = {
        "shower_id": f"S{next(_seq)}",
        "t_ns": time.time_ns() - 3600 * 10**9,
        "t_spread_ns": 4_000_000,
        "lat": 46.2044,
        "lon": 6.1432,
        "radius_m": 210.0,
        "n_devices": 5,
        "n_hits": 5,
        "expected_background": 1e-6,
        "significance_sigma": 6.2,
    }
    if hits_of:  # as the contract has them: the lower median member time, last minus first
        times = sorted(h.t_ns for h in hits_of)
        values["t_ns"], values["t_spread_ns"] = times[(len(times) - 1) // 2], times[-1] - times[0]
    values.update(fields)
    values.setdefault("n_core_devices", values["n_devices"])
    values.setdefault("n_core_hits", values["n_hits"])
    shower = Shower.objects.create(search=search, **values)
    if hits_of:
        shower.hits.set(hits_of)
    return shower


def shower_row(shower_id: str, hit_ids: list[int], t_ns: int) -> dict[str, Any]:
    """One row of the shower contract, for search_result()."""
    return {
        "shower_id": shower_id,
        "t_ns": t_ns,
        "t_spread_ns": 10,
        "lat": 46.2,
        "lon": 6.1,
        "radius_m": 5.0,
        "n_devices": 3,
        "n_hits": len(hit_ids),
        "n_core_devices": 3,
        "n_core_hits": len(hit_ids),
        "hit_ids": hit_ids,
        "device_ids": ["a", "b", "c"],
        "expected_background": 0.1,
        "significance_sigma": 1.2,
    }


def search_result(path: Any, showers: Any, span: tuple[int, int]) -> Any:
    """A coincidence output folder (showers/ and summary.json) for load-showers; returns path.

    showers: rows of the shower contract, as dicts or a pandas frame.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from vocab.contracts import SHOWER_SCHEMA

    if isinstance(showers, list):
        table = pa.Table.from_pylist(showers, SHOWER_SCHEMA)
    else:
        table = pa.Table.from_pandas(showers, schema=SHOWER_SCHEMA, preserve_index=False)
    (path / "showers").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path / "showers" / "part-0.parquet")
    summary = {"parameters": {"window_ms": 50.0}, "span_ns": list(span)}
    (path / "summary.json").write_text(json.dumps(summary))
    return path
