from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from coincidence.params import Params
from coincidence.reference import find_showers

Finder = Callable[[pd.DataFrame, Params], pd.DataFrame]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("shower_id").reset_index(drop=True)


@pytest.fixture
def reference() -> Finder:
    return lambda hits, params: _sorted(find_showers(hits, params))


@pytest.fixture
def spark_job(spark) -> Finder:
    from coincidence.job import transform

    def run(hits: pd.DataFrame, params: Params) -> pd.DataFrame:
        from vocab.contracts import HIT_COLUMNS

        schema = "hit_id long, device_id string, t_ns long, lat double, lon double"
        frame = spark.createDataFrame(hits[list(HIT_COLUMNS)], schema=schema)
        return _sorted(transform(frame, params).toPandas())

    return run


@pytest.fixture(params=["reference", "spark"])
def find(request: pytest.FixtureRequest) -> Finder:
    """Each edge-case test runs through the NumPy reference and the Spark job."""
    return request.getfixturevalue("reference" if request.param == "reference" else "spark_job")
