"""`crowdray release`: a versioned, citable data package of a time range, ready to deposit.

OUT/ holds hits.parquet, exposures.parquet and showers.parquet (the contracts),
datapackage.json (Frictionless Data: every column with its type, meaning and
unit), datacite.json (DataCite-style metadata), provenance.json (the searches
behind the showers, the software version) and SHA256SUMS.

Privacy: every position (hits, blocks, shower centroids and cores) is replaced
by the centre of its grid cell (default the public ~1 km cell), altitudes are
rounded to 100 m, and device and block ids by pseudonyms keyed with a random
secret that is thrown away: the same phone has the same pseudonym across the
files of one release and a different one in every other release.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest import near
from ingest.days import only_in_lake
from ingest.models import ExposureBlock, Hit, Shower
from vocab.cells import CELL_DEG, cells_of
from vocab.contracts import EXPOSURE_SCHEMA, HIT_SCHEMA, SHOWER_SCHEMA
from vocab.times import iso_utc

KM_PER_DEG = 111.195
FILES = {"hits": HIT_SCHEMA, "exposures": EXPOSURE_SCHEMA, "showers": SHOWER_SCHEMA}
# Every released column: what it is, and its unit.
COLUMNS: dict[str, tuple[str, str | None]] = {
    "hit_id": ("the hit's id (showers' hit_ids refer to it)", None),
    "device_id": ("the phone's pseudonym in this release", None),
    "device_ids": ("the member phones' pseudonyms", None),
    "t_ns": ("UTC time since 1970", "ns"),
    "t_err_ns": ("1 sigma clock error", "ns"),
    "lat": ("latitude of the centre of the position's grid cell (WGS84)", "degree"),
    "lon": ("longitude of the centre of the position's grid cell (WGS84)", "degree"),
    "alt_m": ("altitude, rounded to 100 m", "m"),
    "loc_err_m": ("1 sigma position error as reported by the phone", "m"),
    "block_id": ("the exposure block's pseudonym in this release", None),
    "start_ns": ("UTC start of data taking", "ns"),
    "end_ns": ("UTC end of data taking", "ns"),
    "frames": ("camera frames analysed", None),
    "l1_threshold": ("first-level trigger threshold (pixel value)", None),
    "l2_threshold": ("second-level trigger threshold (pixel value)", None),
    "n_hits": ("hits the phone recorded in the block", None),
    "shower_id": ("the candidate's id", None),
    "t_spread_ns": ("last member time minus first", "ns"),
    "radius_m": ("largest member distance from the centroid (exact positions)", "m"),
    "n_devices": ("distinct phones in the whole shower", None),
    "n_core_devices": ("distinct phones in the compact core the significance is of", None),
    "n_core_hits": ("hits in the compact core", None),
    "hit_ids": ("the member hits (the whole shower)", None),
    "expected_background": (
        "chance cores at least this significant expected, trials included",
        None,
    ),
    "significance_sigma": ("one-sided Gaussian equivalent of p = 1 - exp(-expected)", "sigma"),
    "core_lat": ("fitted core, centre of its grid cell", "degree"),
    "core_lon": ("fitted core, centre of its grid cell", "degree"),
    "core_err_m": ("1 sigma error of the fitted core", "m"),
    "log10_energy_ev": ("fitted primary energy", "log10(eV)"),
    "log10_energy_err": ("1 sigma error of the fitted energy", "log10(eV)"),
    "n_silent": ("live phones in the fit that did not fire", None),
}


@dataclass(frozen=True)
class Release:
    """What to release and how."""

    since_ns: int
    until_ns: int
    out: Path
    grid_km: float = CELL_DEG * KM_PER_DEG
    title: str = ""
    creator: str = "crowdray volunteers"
    version: str = "1"


class Pseudonyms:
    """Release-scoped pseudonyms: HMAC-SHA256 of an id under a secret that is not kept."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(32)

    def __call__(self, values: Any) -> list[str]:
        return [
            hmac.new(self.key, str(v).encode(), hashlib.sha256).hexdigest()[:16] for v in values
        ]


def _coarse(frame: pd.DataFrame, lat: str, lon: str, grid_deg: float) -> None:
    """Replace lat/lon columns by their cell centres (nulls stay null)."""
    known = frame[lat].notna() & frame[lon].notna()
    if known.any():
        lats = frame.loc[known, lat].to_numpy(np.float64)
        _, clat, clon = cells_of(lats, frame.loc[known, lon].to_numpy(np.float64), grid_deg)
        frame.loc[known, lat], frame.loc[known, lon] = clat, clon


def hits_frame(r: Release, names: Pseudonyms) -> pd.DataFrame:
    rows = Hit.objects.filter(t_ns__gte=r.since_ns, t_ns__lt=r.until_ns).order_by("id")
    fields = ["id" if n == "hit_id" else n for n in HIT_SCHEMA.names]
    frame = pd.DataFrame(list(rows.values_list(*fields)), columns=HIT_SCHEMA.names)
    frame["device_id"] = names(frame["device_id"])
    frame["alt_m"] = (frame["alt_m"].astype("float64") / 100).round() * 100
    _coarse(frame, "lat", "lon", r.grid_km / KM_PER_DEG)
    return frame


def exposures_frame(r: Release, names: Pseudonyms) -> pd.DataFrame:
    rows = ExposureBlock.objects.filter(near.overlapping(r.since_ns, r.until_ns))
    frame = pd.DataFrame(
        list(rows.order_by("id").values_list(*EXPOSURE_SCHEMA.names)), columns=EXPOSURE_SCHEMA.names
    )
    frame["block_id"] = names(frame["block_id"])
    frame["device_id"] = names(frame["device_id"])
    _coarse(frame, "lat", "lon", r.grid_km / KM_PER_DEG)
    return frame


def showers_frame(r: Release, names: Pseudonyms) -> tuple[pd.DataFrame, list[Any]]:
    """The showers in the range, and the searches that found them."""
    showers = Shower.objects.filter(t_ns__gte=r.since_ns, t_ns__lt=r.until_ns).order_by("t_ns")
    members: dict[str, list[tuple[int, Any]]] = {}
    through = Shower.hits.through.objects.filter(shower__in=showers)
    for shower_id, hit_id, device in through.values_list("shower_id", "hit_id", "hit__device_id"):
        members.setdefault(shower_id, []).append((hit_id, device))
    scalars = [n for n in SHOWER_SCHEMA.names if n not in ("hit_ids", "device_ids")]
    frame = pd.DataFrame(list(showers.values_list(*scalars)), columns=scalars)
    # object columns, so that no showers is still a list column, not float64
    frame["hit_ids"] = pd.Series(
        [sorted(h for h, _ in members.get(s, [])) for s in frame.shower_id], dtype=object
    )
    frame["device_ids"] = pd.Series(
        [sorted(set(names(d for _, d in members.get(s, [])))) for s in frame.shower_id],
        dtype=object,
    )
    grid = r.grid_km / KM_PER_DEG
    _coarse(frame, "lat", "lon", grid)
    _coarse(frame, "core_lat", "core_lon", grid)
    runs = showers.values_list(
        "search__params", "search__since_ns", "search__until_ns", "search__created_at"
    ).distinct()
    searches = [
        {"params": p, "since_ns": a, "until_ns": b, "run_at": t.isoformat()} for p, a, b, t in runs
    ]
    return frame[list(SHOWER_SCHEMA.names)], searches


def _field(f: pa.Field) -> dict[str, Any]:
    kind = (
        "array"
        if pa.types.is_list(f.type)
        else "integer"
        if pa.types.is_integer(f.type)
        else "number"
        if pa.types.is_floating(f.type)
        else "string"
    )
    description, unit = COLUMNS[f.name]
    out: dict[str, Any] = {"name": f.name, "type": kind, "description": description}
    if unit:
        out["unit"] = unit
    if not f.nullable:
        out["constraints"] = {"required": True}
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(r: Release) -> dict[str, int]:
    """Write the release into r.out (which must not exist or be empty); rows per file."""
    if r.out.exists() and any(r.out.iterdir()):
        raise FileExistsError(f"{r.out} is not empty: a release goes into a new folder")
    if not r.since_ns < r.until_ns:
        raise ValueError("--until must be after --since")
    only_in_lake(Hit, r.since_ns, "hits")
    only_in_lake(ExposureBlock, r.since_ns, "exposure blocks")
    r.out.mkdir(parents=True, exist_ok=True)
    names = Pseudonyms()
    showers, searches = showers_frame(r, names)
    frames = {
        "hits": hits_frame(r, names),
        "exposures": exposures_frame(r, names),
        "showers": showers,
    }
    for name, frame in frames.items():
        table = pa.Table.from_pandas(frame, schema=FILES[name], preserve_index=False)
        pq.write_table(table, r.out / f"{name}.parquet")
    package = _datapackage(r)
    (r.out / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n")
    (r.out / "datacite.json").write_text(json.dumps(_datacite(r, frames), indent=2) + "\n")
    provenance = {
        "software": {"name": "crowdray", "version": version("crowdray")},
        "searches": searches,
        "grid_km": r.grid_km,
        "created": datetime.now(UTC).isoformat(),
    }
    (r.out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    sums = [f"{_sha256(p)}  {p.name}" for p in sorted(r.out.iterdir()) if p.name != "SHA256SUMS"]
    (r.out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return {name: len(frame) for name, frame in frames.items()}


def _title(r: Release) -> str:
    return r.title or (
        f"crowdray cosmic-ray phone network data, {iso_utc(r.since_ns)} to {iso_utc(r.until_ns)}"
    )


def _datapackage(r: Release) -> dict[str, Any]:
    resources = []
    for name, schema in FILES.items():
        path = r.out / f"{name}.parquet"
        resources.append(
            {
                "name": name,
                "path": path.name,
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "bytes": path.stat().st_size,
                "hash": f"sha256:{_sha256(path)}",
                "schema": {"fields": [_field(f) for f in schema]},
            }
        )
    return {
        "profile": "data-package",
        "name": f"crowdray-{r.since_ns}-{r.until_ns}",
        "title": _title(r),
        "version": r.version,
        "created": datetime.now(UTC).isoformat(),
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": resources,
    }


def _datacite(r: Release, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    hits = frames["hits"]
    box = None
    if len(hits):
        box = {
            "southBoundLatitude": float(np.min(hits.lat)),
            "northBoundLatitude": float(np.max(hits.lat)),
            "westBoundLongitude": float(np.min(hits.lon)),
            "eastBoundLongitude": float(np.max(hits.lon)),
        }
    counts = ", ".join(f"{len(f):,} {n}" for n, f in frames.items())
    return {
        "identifiers": [{"identifierType": "DOI", "identifier": ""}],  # the archive assigns it
        "creators": [{"name": r.creator}],
        "titles": [{"title": _title(r)}],
        "publisher": "crowdray",
        "publicationYear": str(datetime.now(UTC).year),
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Cosmic-ray detections"},
        "subjects": [
            {"subject": "cosmic rays"},
            {"subject": "extensive air showers"},
            {"subject": "citizen science"},
        ],
        "dates": [
            {"date": f"{iso_utc(r.since_ns)}/{iso_utc(r.until_ns)}", "dateType": "Collected"}
        ],
        "version": r.version,
        "formats": ["application/vnd.apache.parquet"],
        "rightsList": [
            {
                "rights": "Creative Commons Attribution 4.0 International",
                "rightsUri": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "descriptions": [
            {
                "descriptionType": "Abstract",
                "description": "Camera hits of volunteers' phones, their exposure blocks and "
                f"the air-shower candidates found in them ({counts}). Positions are centres of "
                f"{r.grid_km:.2f} km grid cells; phones appear under pseudonyms of this release.",
            }
        ],
        "geoLocations": [{"geoLocationBox": box}] if box else [],
    }
