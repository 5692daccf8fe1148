"""The coincidence search: a Spark job and its NumPy reference, sharing the science. No Django.

Definition of a candidate (the same in coincidence.job and coincidence.reference):

1. Two hits are *linked* when |t1 - t2| <= window (inclusive, in ns) and their
   great-circle distance on a 6,371 km sphere is <= radius_m. A *seed group*
   is a connected group of linked hits. No cylinder reaches past one, so the
   reference searches only those of min_devices devices or more, and the live
   search's parts check that theirs are whole (follow.regions); at 1,000
   phones per km^2 one group holds nearly every hit, so the Spark job does not
   compute them.
2. Every hit anchors one *cylinder* per scanned radius r (Params.radii_m): the
   hits linked to it from its time to one window later, in the order of
   (t_ns, hit_id), within r of it. Its size is its number of distinct devices
   (a device that fires twice counts once in n_devices and twice in n_hits).
3. *Cores* are the cylinders of at least min_devices devices, taken most
   significant first, skipping any that touch a core already taken
   (coincidence.cores). A core whose expected_background is at most
   max_expected is a candidate.
4. A candidate is the *whole shower*: its core's hits and every other hit that
   fits in one window with the core and lies within radius_m of the core's
   centroid, linked or not, claimed most significant core first, so no hit is
   in two candidates (coincidence.footprint). n_devices, n_hits, hit_ids and
   device_ids describe the whole shower; n_core_devices and n_core_hits the
   core, whose expected_background and significance_sigma are the candidate's.
5. Only hits with since <= t_ns < until take part, and of a device's hits in
   one UTC minute only its first max_hits_per_min by hit_id (coincidence.floods).

Nothing depends on row order, on where the data start, or on how the job
partitions space and time, so the same hits always give the same candidates.
A candidate is named S<smallest hit_id>; t_ns is the lower median member time,
lat/lon the unit-vector centroid, radius_m the largest member distance from it
(all over the whole shower).
expected_background and significance_sigma: coincidence.background. Core and
energy: coincidence.reconstruct.
"""
