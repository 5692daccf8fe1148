"""Spark's failures said in one sentence: the stage, the file or the resource, what to do.

A failed Spark action raises a Py4JJavaError or a PySparkException whose text
is a Java stack trace hundreds of lines long, with the cause at the bottom.
`explain` finds what a user can act on:
- a file Spark could not read (not Parquet, truncated, unreadable): its path;
- memory: the JVM's OutOfMemoryError, a Python worker's MemoryError (over
  --python-memory) or a Python worker that died (the kernel's OOM killer):
  the stage, and the options that make each task smaller;
- anything else: the stage and the first line of the deepest cause.
"""

from __future__ import annotations

import re

MEMORY_ADVICE = (
    "give it more memory (--driver-memory, --python-memory), smaller tasks "
    "(--shuffle-partitions, --cell-m, --bucket-s) or a shorter span (--since, --until); "
    "with --max-hits-per-min 0, a flooding phone can do this"
)
_FILE = re.compile(r"(?:file|hdfs|s3a?|gs|abfss?):/*[^\s'\"]+?\.parquet")
_CLASS = re.compile(r"^(?:[\w$]+\.)+[\w$]+: ")  # java.lang.RuntimeException: ...
_MEMORY = (
    "OutOfMemoryError",
    "MemoryError",
    "Java heap space",
    "GC overhead limit",
    "failed to map segment",  # a library loaded over --python-memory
    "Cannot allocate memory",
)
_WORKER_DIED = ("Python worker exited unexpectedly", "crashed")


class SearchError(Exception):
    """The search stopped; the message says where and what to change."""

    def __init__(self, message: str, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


def causes(exc: BaseException) -> list[str]:
    """The messages of an exception and of its Java causes, outermost first."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return [str(exc)]
    messages: list[str] = []
    while java is not None and len(messages) < 20:
        messages.append(str(java.toString()))
        java = java.getCause()
    return messages


def _first_line(text: str) -> str:
    """The first line of a message that is not a traceback's, without its class name."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    plain = [ln for ln in lines if not ln.startswith(("Traceback", "File "))] or lines or [""]
    return _CLASS.sub("", plain[0])[:300]


def explain(exc: BaseException, stage: str) -> SearchError:
    """What went wrong in `stage`, from a Spark exception."""
    messages = causes(exc)
    text = "\n".join(messages)
    if any(word in text for word in _MEMORY):
        return SearchError(f"out of memory in the {stage} stage: {MEMORY_ADVICE}", True)
    if all(word in text for word in _WORKER_DIED):
        return SearchError(
            f"a Python worker died in the {stage} stage (killed, most likely for memory): "
            + MEMORY_ADVICE,
            True,
        )
    where = _FILE.search(text)
    if where:
        path = re.sub(r"^file:/*", "/", where.group(0))
        same = re.compile(r"(?:file:/*)?/*" + re.escape(path.lstrip("/")))
        cause = same.sub("the file", _first_line(messages[-1]))
        return SearchError(
            f"cannot read {path}: {cause}; remove the file or "
            "write it again (crowdray export), then search again"
        )
    return SearchError(f"the {stage} stage failed: {_first_line(messages[-1])}")
