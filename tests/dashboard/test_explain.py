"""Showers in plain words: energy, chance, times, the sentence, the search."""

from __future__ import annotations

from dashboard import explain


def test_energies_in_electronvolts_and_joules():
    assert explain.power_of_ten(3.2e19) == "3 × 10¹⁹"
    assert explain.power_of_ten(9.96e19) == "1 × 10²⁰"  # rounding carries into the exponent
    assert explain.power_of_ten(2.5e-4, digits=2) == "2.5 × 10⁻⁴"
    assert explain.energy(19.5) == "about 3 × 10¹⁹ eV (5.1 joules in one particle)"
    assert explain.energy(17.0) == "about 1 × 10¹⁷ eV (0.016 joules in one particle)"
    assert explain.energy(16.0) == "about 1 × 10¹⁶ eV (2 × 10⁻³ joules in one particle)"


def test_chance_counts_times_and_durations_read_sensibly():
    assert explain.chance(1e-30) == "< 10⁻¹⁰"
    assert explain.chance(3.2e-4) == "3 × 10⁻⁴"
    assert explain.chance(0.25) == "0.25"
    assert explain.when(1_790_000_000_123_456_789) == "2026-09-21 14:13:20.123 UTC"
    assert (explain.duration(9_000_000), explain.duration(400_000)) == ("9 ms", "0.4 ms")


def test_the_sentence_says_who_where_how_fast_and_how_big():
    shower = {
        "n_devices": 38,
        "radius_m": 200.0,
        "place": "near Kraków, Poland",
        "t_spread_ns": 9_000_000,
        "log10_energy_ev": 19.48,
    }
    assert explain.sentence(shower) == (
        "38 phones within 400 m of each other near Kraków, Poland lit up within 9 ms: the "
        "footprint of a cosmic-ray air shower of about 3 × 10¹⁹ eV (4.8 joules in one particle)."
    )
    unfitted = explain.sentence({**shower, "log10_energy_ev": None})
    assert unfitted.endswith("the footprint of a cosmic-ray air shower.")


def test_the_search_in_words_and_units():
    batch = explain.search(
        {"window_ms": 50.0, "radius_m": 1000.0, "min_devices": 3},
        1_790_000_000 * 10**9,
        1_790_003_600 * 10**9,
    )
    assert "from 2026-09-21 14:13:20.000 UTC to 2026-09-21 15:13:20.000 UTC" in batch
    assert "at least 3 phones with hits within 50 ms of each other" in batch
    assert "None" not in batch and "_" not in batch
    live = explain.search(
        {
            "window_ms": 50.0,
            "radius_m": 1000.0,
            "min_devices": 3,
            "live": True,
            "rate_window_s": 3600.0,
            "min_sigma": 5.0,
        },
        None,
        None,
    )
    assert "live search" in live and "last hour" in live and "5 σ" in live
