"""follow.public: what the public may see of a shower (the nearest town)."""

from __future__ import annotations

from follow import public as explain


def test_a_place_is_the_nearest_town_or_how_far_it_is():
    assert explain.place(50.0647, 19.9450) == "near Kraków, Poland"
    assert explain.place(46.2044, 6.1432) == "near Genève, Switzerland"
    assert explain.place(-18.1248, 178.4501) == "near Suva, Fiji"
    # Near the South Pole the nearest town on the sphere (a raw latitude-longitude
    # search would name Port-aux-Français, 4,510 km away).
    assert explain.place(-89.9, 45.0) == "3,903 km from Puerto Williams, Chile"
    # Either side of the antimeridian finds the same islands.
    assert (
        explain.place(-16.8, 179.99).split(" from ")[-1]
        == explain.place(-16.8, -179.99).split(" from ")[-1]
    )
