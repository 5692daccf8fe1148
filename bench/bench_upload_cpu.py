"""CPU of the upload path's Python steps for one 100-hit batch, without a server or database.

Times, best of 5 repeats of 2,000 batches each:
- parsing the JSON body (json.loads), the reference for the others, and as
  the upload reads it (ingest.json_body.loads: orjson, for bodies it reads alike);
- validation (ingest.validation.validate_batch with the hits' fields and time check);
- encoding the columns as binary arrays: psycopg's own dumpers (the reference,
  what the insert used before) against ingest.pg_arrays.

    .venv/bin/python bench/bench_upload_cpu.py [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np
from psycopg.adapt import PyFormat, Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import make_batch
from ingest.json_body import loads
from ingest.pg_arrays import PG_TYPES, binary_array
from ingest.specs import HIT_FIELDS
from ingest.validation import time_window_check, validate_batch


def best_us(fn: Callable[[], object], number: int = 2000) -> float:
    """Microseconds per call, the best of 5 repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    hits = make_batch(np.random.default_rng(1), 0, time.time_ns())
    hits = (hits * (args.batch // len(hits) + 1))[: args.batch]
    body = json.dumps({"hits": hits})
    raw = body.encode()
    checks = [time_window_check("t_ns", 30 * 86400, 3600)]
    columns = validate_batch(hits, HIT_FIELDS, checks).columns
    values = list(columns.values())
    parse = best_us(lambda: json.loads(raw))
    upload_parse = best_us(lambda: loads(raw))
    validate = best_us(lambda: validate_batch(hits, HIT_FIELDS, checks))
    psycopg_dump = best_us(
        lambda: Transformer().dump_sequence(values, [PyFormat.BINARY] * len(values))
    )
    numpy_dump = best_us(lambda: [binary_array(c, PG_TYPES[k]) for k, c in columns.items()])
    print(f"{args.batch}-hit batch, {len(body):,} bytes of JSON")
    print(f"  json.loads          {parse:7.1f} us")
    print(f"  json_body.loads     {upload_parse:7.1f} us ({parse / upload_parse:.1f}x faster)")
    print(f"  validation          {validate:7.1f} us ({validate / parse:.2f}x the parse)")
    print(f"  psycopg's dumpers   {psycopg_dump:7.1f} us")
    print(f"  NumPy binary arrays {numpy_dump:7.1f} us ({psycopg_dump / numpy_dump:.1f}x faster)")


if __name__ == "__main__":
    main()
