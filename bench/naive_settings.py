"""crowdray's settings plus the naive peer's route (bench/naive.py), for bench_ingest."""

from crowdray.settings import *  # noqa: F403 - the service's settings, one route added

ROOT_URLCONF = "bench.naive"
