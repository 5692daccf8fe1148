"""Reading hits, exposure blocks and showers into pandas, filtered by time and place."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from vocab.contracts import EXPOSURES_DIR
from vocab.times import parse_time_ns

Box = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat (degrees)


def _ns(value: int | str | None) -> int | None:
    return None if value is None else parse_time_ns(str(value))


def _dataset(path: Path, kind: str) -> ds.Dataset:
    """The Parquet files of hits or exposures under a lake, a simulator folder or a path."""
    if kind == "hits" and any(path.glob("date=*")):
        return ds.dataset(sorted(str(f) for f in path.glob("date=*/hour=*/*.parquet")))
    if kind == "exposures" and (path / EXPOSURES_DIR).is_dir():
        return ds.dataset(sorted(str(f) for f in (path / EXPOSURES_DIR).rglob("*.parquet")))
    if (path / f"{kind}.parquet").exists():
        return ds.dataset(str(path / f"{kind}.parquet"))
    if path.exists():
        return ds.dataset(str(path))
    raise FileNotFoundError(f"{path}: no {kind} here (a lake, a simulator folder or Parquet)")


def _where(
    start: str, end: str, since: int | None, until: int | None, bbox: Box | None
) -> ds.Expression | None:
    expr: ds.Expression | None = None

    def both(e: ds.Expression) -> None:
        nonlocal expr
        expr = e if expr is None else expr & e

    if since is not None:
        both(ds.field(end) >= since)
    if until is not None:
        both(ds.field(start) < until)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        both((ds.field("lat") >= min_lat) & (ds.field("lat") <= max_lat))
        lon = ds.field("lon")
        # A box whose min_lon is east of its max_lon crosses the antimeridian.
        both(
            (lon >= min_lon) & (lon <= max_lon)
            if min_lon <= max_lon
            else (lon >= min_lon) | (lon <= max_lon)
        )
    return expr


def read_hits(
    source: str | Path,
    since: int | str | None = None,
    until: int | str | None = None,
    bbox: Box | None = None,
) -> pd.DataFrame:
    """Hits (the hit contract) with t_ns in [since, until) and inside bbox.

    source: a lake (`crowdray export`), a `crowdray simulate --out` folder, or
    Parquet files. since/until: UTC epoch ns or ISO 8601.
    """
    data = _dataset(Path(source), "hits")
    table = data.to_table(filter=_where("t_ns", "t_ns", _ns(since), _ns(until), bbox))
    return _frame(table)


def read_exposures(
    source: str | Path,
    since: int | str | None = None,
    until: int | str | None = None,
    bbox: Box | None = None,
) -> pd.DataFrame:
    """Exposure blocks that overlap [since, until) and lie inside bbox."""
    data = _dataset(Path(source), "exposures")
    since_ns, until_ns = _ns(since), _ns(until)
    where = _where("start_ns", "end_ns", None if since_ns is None else since_ns + 1, until_ns, bbox)
    return _frame(data.to_table(filter=where))


def read_showers(run: str | Path) -> pd.DataFrame:
    """The candidates (the shower contract) of a `crowdray coincidence --output` folder."""
    path = Path(run)
    folder = path / "showers" if (path / "showers").is_dir() else path
    return _frame(ds.dataset(str(folder)).to_table())


def _frame(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas()
    return frame
