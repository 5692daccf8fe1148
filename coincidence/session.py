"""Building the SparkSession the job runs in."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from pyspark.sql import SparkSession

SHIPPED_PACKAGES = ("coincidence", "vocab")  # what the job imports besides libraries


def _package_zip() -> str:
    """The job's packages as one zip, so executors on a cluster can import them."""
    root = Path(__file__).resolve().parent.parent
    path = Path(tempfile.mkdtemp(prefix="crowdray-spark-")) / "crowdray-job.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in SHIPPED_PACKAGES:
            for file in (root / name).rglob("*.py"):
                zf.write(file, file.relative_to(root))
    return str(path)


def _local_partitions(master: str) -> int | None:
    """Two shuffle partitions per local core: Spark's default of 200 is for clusters."""
    if not master.startswith("local"):
        return None
    inside = master[len("local") :].strip("[]").split(",")[0]
    if inside == "":
        cores = 1
    elif inside == "*":
        cores = os.cpu_count() or 1
    else:
        cores = int(inside)
    return 2 * cores


def build_session(
    master: str = "local[*]",
    *,
    shuffle_partitions: int | None = None,
    ui: bool = False,
    driver_memory: str = "4g",
    python_memory: str | None = None,
    adaptive: bool = True,
    log_level: str = "ERROR",
) -> SparkSession:
    """A session for the job; on a cluster the executors get this package shipped to them."""
    # py4j logs at INFO while the interpreter shuts down, after test runners close streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    # Executors must run the same Python as the driver (numpy, pyarrow, this package).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("crowdray-coincidence")
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", driver_memory)
        # Adaptive execution pays off on large shuffles but adds a job per stage.
        .config("spark.sql.adaptive.enabled", str(adaptive).lower())
    )
    if python_memory:  # each Python worker's address space; over it, a MemoryError
        builder = builder.config("spark.executor.pyspark.memory", python_memory)
    shuffle_partitions = shuffle_partitions or _local_partitions(master)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    if not master.startswith("local"):
        spark.sparkContext.addPyFile(_package_zip())
    if shutil.which("java") is None:  # pragma: no cover - getOrCreate fails first
        raise RuntimeError("Java is needed to run Spark")
    return spark
