"""The coincidence search: a Spark job, its NumPy reference and the Parquet schemas. No Django.

Definition of a candidate (the same in coincidence.job and coincidence.reference):

1. Two hits are *linked* when |t1 - t2| <= window (inclusive, in ns) and their
   great-circle distance on a 6,371 km sphere is <= radius (metres). Hits of the
   same device link like any others.
2. A *candidate* is a connected component of the linked-hits graph (friends of
   friends) holding hits from at least `min_devices` distinct devices. A device
   that fires twice counts once in n_devices and twice in n_hits.
3. Only hits with since <= t_ns < until take part.

Components do not depend on row order, on where the data start, or on how the
job partitions space and time, so the same hits always give the same candidates.
A candidate is named S<smallest hit_id>; t_ns is the lower median member time,
lat/lon the unit-vector centroid, radius_m the largest member distance from it.
expected_background and significance_sigma: see coincidence.background.
"""
