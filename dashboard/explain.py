"""Showers in plain words for the public: how big, how unlikely by chance, found how.

Where a shower was (the nearest town) is follow.public's: the status the
follower computes needs it too.
"""

from __future__ import annotations

import math
from typing import Any

from vocab.times import iso_utc

EV_J = 1.602176634e-19  # joules per electronvolt (exact, SI 2019)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(value: float, digits: int = 1) -> str:
    """3.2e19 -> '3.2 × 10¹⁹' (one significant digit by default: '3 × 10¹⁹')."""
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10**exponent, digits - 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    text = f"{mantissa:.{max(digits - 1, 0)}f}"
    return f"{text} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def energy(log10_ev: float) -> str:
    """'about 3 × 10¹⁹ eV (5 joules in one particle)'."""
    joules = 10**log10_ev * EV_J
    in_joules = f"{joules:.2g}" if 0.01 <= joules < 1000 else power_of_ten(joules)
    unit = "joule" if in_joules == "1" else "joules"
    return f"about {power_of_ten(10**log10_ev)} eV ({in_joules} {unit} in one particle)"


def chance(expected: float) -> str:
    """The expected number of chance clusters, written sensibly: '< 10⁻¹⁰', '3 × 10⁻⁴', '0.25'."""
    if expected < 1e-10:
        return "< 10⁻¹⁰"
    if expected < 0.01:
        return power_of_ten(expected)
    return f"{expected:.2f}"


def when(t_ns: int) -> str:
    """'2026-11-22 23:37:50.712 UTC': one format for times on every page."""
    return iso_utc(t_ns).replace("T", " ").replace("Z", " UTC")


def duration(ns: int) -> str:
    """'9 ms', '0.4 ms'."""
    ms = ns / 1e6
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


def sentence(shower: dict[str, Any]) -> str:
    """The shower in one sentence (shower: the shower page's data)."""
    across = max(10, round(2 * shower["radius_m"], -1))
    text = (
        f"{shower['n_devices']} phones within {across:,.0f} m of each other "
        f"{shower['place']} lit up within {duration(shower['t_spread_ns'])}: the footprint "
        f"of a cosmic-ray air shower"
    )
    if shower.get("log10_energy_ev") is not None:
        text += f" of {energy(shower['log10_energy_ev'])}"
    return text + "."


def search(params: dict[str, Any], since_ns: int | None, until_ns: int | None) -> str:
    """The search that found a shower, in words and units."""
    rule = (
        f"at least {params.get('min_devices', 3)} phones with hits within "
        f"{params.get('window_ms', 50):g} ms of each other, inside a disc of at most "
        f"{params.get('radius_m', 1000):g} m"
    )
    if params.get("live"):
        hours = params.get("rate_window_s", 3600) / 3600
        period = "hour" if hours == 1 else f"{hours:g} hours"
        return (
            f"The live search, run as the hits arrived, looked for {rule}, with each "
            f"phone's usual rate measured over the last {period}, and shows clusters of "
            f"at least "
            f"{params.get('min_sigma', 5):g} σ until a full search confirms or replaces "
            "them."
        )
    span = ""
    if since_ns is not None and until_ns is not None:
        span = f" of the hits from {when(since_ns)} to {when(until_ns)}"
    return f"A full search{span} looked for {rule}, with each phone's usual rate measured then."
