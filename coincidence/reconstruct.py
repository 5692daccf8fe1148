"""Core and energy of a candidate, from the phones that fired and the live ones that did not.

Model (docs/physics.md; CRAYFIS's own studies, HiSPARC's LDF fits). The shower
is taken as vertical: millisecond clocks give no direction. A phone at distance
r from the core expects mu = rho_NKG(r; E) A eps + lambda 2W particles-or-chance
hits (the window below): the NKG density of a shower of energy E (N_e from E, age
1.7, r0 30 m) on a sensor of area A with efficiency eps, on top of its own
chance rate lambda over the fit's window. It fires with p = 1 - exp(-mu). The
log-likelihood of the core (x, y) and log10 E is

    sum over fired phones of log(p_i)  +  sum over silent phones of log(1 - p_i)

The phones are those within fit_radius_m of the members' centroid: the members
there and the phones live then (an exposure block covers the shower's time).
Members further out are left out as silent phones there are: counting fired
phones without the silent ones around them would pull the energy up. A phone
fired when it is a member or has a hit within one window W either side of the
shower's time (and within hit_reach_m of the centroid, so that a hit from
where a phone has since moved to does not count): calling a phone of the
shower silent would pull the core towards the others. Over that 2W, a phone's
chance hits are lambda 2W. The fit runs in a local east-north frame in metres
around that centroid; its 1 sigma errors come from the inverse Hessian of the
negative log-likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize, minimize_scalar

from coincidence.geo import centroid, from_tangent_plane, from_unit, tangent_plane, to_unit
from coincidence.params import Params
from vocab.contracts import RECONSTRUCTION
from vocab.shower import electron_number, nkg_density

Floats = npt.NDArray[np.float64]
LOG10_E_RANGE = (14.0, 22.5)  # eV: the fit's bounds, the simulator's spectrum and a margin
# Statuses counted in summary.json.
FITTED, NO_EXPOSURES, NO_CONVERGENCE = "fitted", "no_exposures", "no_convergence"


@dataclass(frozen=True)
class Phones:
    """Phones around one candidate: local east/north (m), chance hits in the window, fired."""

    east: Floats
    north: Floats
    chance: Floats
    fired: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Fit:
    core_lat: float
    core_lon: float
    core_err_m: float
    log10_energy_ev: float
    log10_energy_err: float
    n_silent: int


def fit_radius_m(params: Params) -> float:
    """Silent phones count within this distance of the members' centroid (metres)."""
    return params.radius_m / 2


def hit_reach_m(within_m: float, radius_m: float) -> float:
    """How far from a shower a hit in its window still fires a phone within_m of it (m).

    One search radius_m further. A hit lies where its phone is, to within its
    location error, far less than that; a hit further out is not the shower's,
    but that of a phone that has moved from where its exposure block puts it.
    """
    return within_m + radius_m


def fit_window_s(params: Params) -> float:
    """A phone with a hit this close in time to the shower's, either side, fired (seconds)."""
    return 2 * params.window_ms / 1000.0


def neg_log_likelihood(theta: Floats, phones: Phones, params: Params) -> float:
    """-log L of (east, north, log10 E) (see the module docstring)."""
    r = np.hypot(phones.east - theta[0], phones.north - theta[1])
    particles = nkg_density(r, electron_number(10.0 ** theta[2]))
    return _of_mu(particles * params.sensor_area_m2 * params.efficiency + phones.chance, phones)


def _of_mu(mu: Floats, phones: Phones) -> float:
    """-log L from each phone's expected hits mu."""
    fired = mu[phones.fired]
    # log(1 - exp(-mu)), kept finite where mu is tiny.
    log_p = np.log(-np.expm1(-np.maximum(fired, 1e-300)))
    return float(-log_p.sum() + mu[~phones.fired].sum())


def _best_energy(core: Floats, phones: Phones, params: Params) -> tuple[float, float]:
    """(log10 E, -log L) with the core held at `core`.

    With the core held, the density's shape over the phones is fixed and only its
    size N_e changes: the shape is computed once, not at every energy tried.
    """
    r = np.hypot(phones.east - core[0], phones.north - core[1])
    per_particle = nkg_density(r, 1.0) * (params.sensor_area_m2 * params.efficiency)
    found = minimize_scalar(
        lambda lg: _of_mu(per_particle * electron_number(10.0**lg) + phones.chance, phones),
        bounds=LOG10_E_RANGE,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(found.x), float(found.fun)


def _hessian(theta: Floats, phones: Phones, params: Params) -> Floats:
    """Central-difference Hessian of -log L; steps of 1 m and 0.01 in log10 E."""
    steps = np.array([1.0, 1.0, 0.01])
    hess = np.zeros((3, 3))
    f0 = neg_log_likelihood(theta, phones, params)
    for a in range(3):
        for b in range(a, 3):
            ea, eb = np.eye(3)[a] * steps[a], np.eye(3)[b] * steps[b]
            if a == b:
                up = neg_log_likelihood(theta + ea, phones, params)
                down = neg_log_likelihood(theta - ea, phones, params)
                hess[a, a] = (up - 2 * f0 + down) / steps[a] ** 2
            else:
                f = [
                    neg_log_likelihood(theta + sa * ea + sb * eb, phones, params)
                    for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1))
                ]
                hess[a, b] = hess[b, a] = (f[0] - f[1] - f[2] + f[3]) / (4 * steps[a] * steps[b])
    return hess


def fit_phones(phones: Phones, params: Params) -> tuple[Floats, Floats] | None:
    """(east, north, log10 E) and its covariance, or None when the fit does not converge.

    Starts from every fired phone and from the fired phones' mean, energy profiled
    out, then refines the best start in all three parameters.
    """
    fired = np.column_stack([phones.east[phones.fired], phones.north[phones.fired]])
    starts = np.vstack([fired, fired.mean(axis=0)])
    tried = [(_best_energy(s, phones, params), s) for s in starts]
    (lg, _), core = min(tried, key=lambda item: item[0][1])
    start = np.array([core[0], core[1], lg])
    # The first simplex spans 20 m and 0.1 in log10 E. scipy's default (5% of each
    # coordinate) is a few mm for a start near the centroid, and it stays on the
    # cusp the NKG density puts at every fired phone.
    simplex = start + np.array([[0, 0, 0], [20, 0, 0], [0, 20, 0], [0, 0, 0.1]])
    found = minimize(
        neg_log_likelihood,
        start,
        args=(phones, params),
        method="Nelder-Mead",
        options={"xatol": 0.01, "fatol": 1e-6, "maxiter": 4000, "initial_simplex": simplex},
    )
    theta = np.asarray(found.x, dtype=np.float64)
    if not found.success or not LOG10_E_RANGE[0] < theta[2] < LOG10_E_RANGE[1]:
        return None
    try:
        cov: Floats = np.linalg.inv(_hessian(theta, phones, params)).astype(np.float64)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return None
    return theta, cov


def reconstruct(fired: pd.DataFrame, live: pd.DataFrame, params: Params) -> Fit | None:
    """Fit one candidate; None when the fit does not converge.

    fired: rows of the phones that fired (device_id, lat, lon, chance), its member
    hits and the live phones with a hit near its time; live: the devices live at its
    time within fit_radius_m (same columns). A device's position is the mean of its
    rows; chance is lambda 2W, its chance hits in the fit's window (fit_window_s).
    """
    fired = _per_device(fired)
    silent = _per_device(live[~live["device_id"].isin(fired["device_id"])])
    lat0, lon0 = centroid(fired["lat"].to_numpy(), fired["lon"].to_numpy())
    both = pd.concat([fired, silent], ignore_index=True) if len(silent) else fired
    east, north = tangent_plane(both["lat"].to_numpy(), both["lon"].to_numpy(), lat0, lon0)
    is_fired = np.arange(len(both)) < len(fired)
    phones = Phones(east, north, both["chance"].to_numpy(np.float64), is_fired)
    result = fit_phones(phones, params)
    if result is None:
        return None
    theta, cov = result
    core_lat, core_lon = from_tangent_plane(theta[0], theta[1], lat0, lon0)
    return Fit(
        core_lat=core_lat,
        core_lon=core_lon,
        core_err_m=math.sqrt((cov[0, 0] + cov[1, 1]) / 2),
        log10_energy_ev=float(theta[2]),
        log10_energy_err=math.sqrt(cov[2, 2]),
        n_silent=len(silent),
    )


def _per_device(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per device (sorted by id): mean position (unit vectors) and its chance."""
    codes, ids = pd.factorize(rows["device_id"], sort=True)
    n = np.bincount(codes, minlength=len(ids))
    x, y, z = to_unit(rows["lat"].to_numpy(np.float64), rows["lon"].to_numpy(np.float64))
    mean = [np.bincount(codes, weights=v, minlength=len(ids)) / n for v in (x, y, z)]
    lat, lon = from_unit(*mean)
    chance = np.full(len(ids), -np.inf)
    np.maximum.at(chance, codes, rows["chance"].to_numpy(np.float64))
    return pd.DataFrame({"device_id": np.asarray(ids), "lat": lat, "lon": lon, "chance": chance})


FIT_INPUT = ["shower_id", "fired", "device_id", "lat", "lon", "chance"]
FIT_OUTPUT = ["shower_id", *RECONSTRUCTION, "fit_status"]


def fit_rows(rows: pd.DataFrame, params: Params) -> pd.DataFrame:
    """FIT_OUTPUT per shower of FIT_INPUT rows (fired members and live devices)."""
    out = []
    for shower_id, group in rows.groupby("shower_id", sort=True):
        fired = group["fired"].to_numpy(bool)
        fit = reconstruct(group[fired], group[~fired], params) if fired.any() else None
        if fit is None:
            out.append((shower_id, *([None] * len(RECONSTRUCTION)), NO_CONVERGENCE))
        else:
            out.append((shower_id, *(getattr(fit, c) for c in RECONSTRUCTION), FITTED))
    frame = pd.DataFrame(out, columns=FIT_OUTPUT)
    for name in RECONSTRUCTION:
        frame[name] = frame[name].astype("Int64" if name == "n_silent" else "float64")
    return frame
