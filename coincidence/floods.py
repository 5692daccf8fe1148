"""Flooding phones: of a device's hits in one UTC minute, only the first few are searched.

A broken phone (a hot pixel, a stuck trigger) can send 10^5-10^6 hits in a
minute. Each of them links with every other phone's hits within the window and
the radius, so one such phone makes the seed groups and the cores grow as its
hits times its neighbours': 10^6 hits in one minute, among 500 normal phones,
took the reference 22 GB of memory in two minutes before it was stopped.

The server already counts only a device's first CROWDRAY_MAX_HITS_PER_MIN hits
of each minute on the public counters and in the live search (follow.counters,
follow.live); the batch search does the same with Params.max_hits_per_min (the
same default, vocab.limits.MAX_HITS_PER_MIN), so all of them see the same hits.
"First" is smallest hit_id: the database's order of arrival. The rest stay in
the database and the lake; they are not searched, and they do not count in the
device's rate. 0 turns the cap off.

The Spark job's version is coincidence.spark_floods.without_floods; this is the reference's
and the live search's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vocab.units import NS_PER_MIN


def first_per_minute(hits: pd.DataFrame, cap: int) -> pd.DataFrame:
    """The hits (device_id, t_ns, hit_id) that are among their device's first `cap` of a minute."""
    if cap <= 0 or len(hits) <= cap:
        return hits
    if hits["device_id"].value_counts().iloc[0] <= cap:
        return hits  # no device has more than cap hits in all: nothing to cut
    order = np.argsort(hits["hit_id"].to_numpy(np.int64), kind="stable")
    device = hits["device_id"].to_numpy()[order]
    minute = hits["t_ns"].to_numpy(np.int64)[order] // NS_PER_MIN
    rank = pd.DataFrame({"d": device, "m": minute}).groupby(["d", "m"]).cumcount().to_numpy()
    keep = np.empty(len(hits), dtype=bool)
    keep[order] = rank < cap
    return hits[keep]
