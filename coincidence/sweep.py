"""The linking step shared by the Spark job and the NumPy reference.

Two hits are linked when |t1 - t2| <= window and their great-circle distance is
<= radius. Hits come sorted by (key, t_ns, hit_id); only hits with the same key
are compared. The sweep walks forward neighbour by neighbour with a shrinking
set of still-open windows, so its cost is O(N + pairs inside the window).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from coincidence.geo import haversine_m

Ints = npt.NDArray[np.int64]


def linked_pairs(
    key: Ints,
    t_ns: Ints,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    window_ns: int,
    radius_m: float,
    from_mask: npt.NDArray[np.bool_] | None = None,
) -> tuple[Ints, Ints]:
    """Index pairs (i, j), i before j in the given order, of linked hits with equal keys.

    `from_mask` restricts i to the marked rows (the Spark job's home copies).
    """
    n = len(t_ns)
    open_i = np.arange(n - 1, dtype=np.int64)
    if from_mask is not None:
        open_i = open_i[from_mask[:-1]]
    first, second = [], []
    offset = 1
    while len(open_i):
        j = open_i + offset
        in_window = j < n
        open_i, j = open_i[in_window], j[in_window]
        in_window = (key[j] == key[open_i]) & (t_ns[j] - t_ns[open_i] <= window_ns)
        open_i, j = open_i[in_window], j[in_window]
        close = haversine_m(lat[open_i], lon[open_i], lat[j], lon[j]) <= radius_m
        first.append(open_i[close])
        second.append(j[close])
        offset += 1
    if not first:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(first), np.concatenate(second)


def local_components(ids: Ints, first: Ints, second: Ints) -> tuple[Ints, Ints]:
    """(hit_id, label) for each hit in a pair; label = smallest hit_id of its component.

    `first`/`second` index into `ids`; the same hit_id may stand in several rows.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(first) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    uniq, inverse = np.unique(np.concatenate([ids[first], ids[second]]), return_inverse=True)
    a, b = inverse[: len(first)], inverse[len(first) :]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(uniq), len(uniq)))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, comp, uniq)  # uniq is sorted, so this is each component's min id
    return uniq, smallest[comp]
