"""The ~1 km privacy cell: no public page or API shows a position finer than this."""

from __future__ import annotations

import math

CELL_DEG = 0.01  # latitude rows ~1.1 km tall; each row cut into cells about as wide


def cell_of(lat: float, lon: float) -> tuple[str, float, float]:
    """The privacy cell of a position (degrees): its key "row:col" and its centre.

    Latitude rows are CELL_DEG tall; each row is cut into cells about as wide,
    so no coordinate finer than the cell leaves the server.
    """
    row = min(math.floor((lat + 90) / CELL_DEG), int(180 / CELL_DEG) - 1)
    centre_lat = -90 + (row + 0.5) * CELL_DEG
    per_row = max(1, math.floor(360 * math.cos(math.radians(centre_lat)) / CELL_DEG))
    col = min(math.floor((lon + 180) / 360 * per_row), per_row - 1)
    centre_lon = -180 + (col + 0.5) * 360 / per_row
    return f"{row}:{col}", round(centre_lat, 5), round(centre_lon, 5)
