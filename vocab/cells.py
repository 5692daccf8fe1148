"""The ~1 km privacy cell: no public page or API shows a position finer than this."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CELL_DEG = 0.01  # latitude rows ~1.1 km tall; each row cut into cells about as wide
# A cell's key packs (row, col) into one integer; a row has fewer than 36,001 cells.
_COLS_PER_ROW_MAX = 100_000

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def cells_of(
    lat: Sequence[float] | Floats, lon: Sequence[float] | Floats, cell_deg: float = CELL_DEG
) -> tuple[Ints, Floats, Floats]:
    """The privacy cells of many positions (degrees): packed keys and centres.

    Latitude rows are cell_deg tall; each row is cut into cells about as wide,
    so no coordinate finer than the cell leaves the server. The key is
    row * 100,000 + column (cell_key turns it into "row:col"); keys name the
    public cells only at the default CELL_DEG (a data release may choose coarser).
    """
    lat_a, lon_a = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    rows = int(180 / cell_deg)
    row = np.minimum(np.floor((lat_a + 90) / cell_deg).astype(np.int64), rows - 1)
    centre_lat = -90 + (row + 0.5) * cell_deg
    per_row = np.maximum(1, np.floor(360 * np.cos(np.radians(centre_lat)) / cell_deg))
    per_row = per_row.astype(np.int64)
    col = np.minimum(np.floor((lon_a + 180) / 360 * per_row).astype(np.int64), per_row - 1)
    centre_lon = -180 + (col + 0.5) * 360 / per_row
    return row * _COLS_PER_ROW_MAX + col, np.round(centre_lat, 5), np.round(centre_lon, 5)


def cell_key(packed: int) -> str:
    """A packed cell key from cells_of as the "row:col" text the database keeps."""
    row, col = divmod(int(packed), _COLS_PER_ROW_MAX)
    return f"{row}:{col}"


def cell_of(lat: float, lon: float) -> tuple[str, float, float]:
    """The privacy cell of one position (degrees): its key "row:col" and its centre."""
    key, centre_lat, centre_lon = cells_of([lat], [lon])
    return cell_key(key[0]), float(centre_lat[0]), float(centre_lon[0])


def cell_centre(key: str) -> tuple[float, float]:
    """The centre of the cell "row:col" (as cells_of gives it)."""
    row, col = (int(v) for v in key.split(":"))
    centre_lat = -90 + (row + 0.5) * CELL_DEG
    per_row = max(1, int(np.floor(360 * np.cos(np.radians(centre_lat)) / CELL_DEG)))
    centre_lon = -180 + (col + 0.5) * 360 / per_row
    return round(centre_lat, 5), round(centre_lon, 5)
