"""The one upload pipeline, for every dialect: parse -> validate -> store.

The v1 views (ingest.views), their short way past Django (ingest.fast) and
CREDO's API (credo.uploads) all come through here. A dialect maps its body onto
an UploadKind's fields (HITS or BLOCKS) and nothing else, so the checks, the
idempotent insert, the log line and the counters are the same for all.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, Throttled, UnsupportedMediaType
from rest_framework.request import Request

from api.metrics import UPLOADS
from ingest import json_body, throttle
from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS
from ingest.store import insert_exposures, insert_hits, stored_hits
from ingest.validation import (
    BatchResult,
    CrossCheck,
    Field,
    longest_check,
    ordered_check,
    time_window_check,
    validate_batch,
)

log = logging.getLogger(__name__)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request too large"
    default_code = "too_large"


# Parse: the body, within the size limits, as a list of items.


def request_body(request: Request) -> bytes:
    """The body, gunzipped when sent with Content-Encoding: gzip; the size limit holds for both."""
    try:
        raw = request.body
    except RequestDataTooBig:
        limit = settings.CROWDRAY_MAX_BODY_BYTES
        raise PayloadTooLarge(f"body is over the limit of {limit} bytes") from None
    meta = request.META
    return decoded_body(raw, meta.get("CONTENT_LENGTH"), meta.get("HTTP_CONTENT_ENCODING"))


def decoded_body(raw: bytes, content_length: str | None, encoding: str | None) -> bytes:
    """A request body within the size limit, gunzipped if its Content-Encoding says gzip."""
    limit = settings.CROWDRAY_MAX_BODY_BYTES
    too_big = PayloadTooLarge(f"body is over the limit of {limit} bytes")
    try:
        declared = int(content_length or 0)
    except ValueError:
        raise ParseError("Content-Length is not a number") from None
    if declared > limit or len(raw) > limit:
        raise too_big
    encoding = (encoding or "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(raw, limit)
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            encoding, f"Content-Encoding {encoding} is not supported: send gzip or identity"
        )
    return raw


def _gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress at most limit bytes: a small body that inflates past it (a zip bomb) is a 413."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16: the gzip header and trailer
    try:
        out = inflate.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body is over the limit of {limit} bytes")
    if not inflate.eof:
        raise ParseError("body is not valid gzip: it ends early")
    return out


def read_items(raw: bytes, key: str) -> list[Any]:
    """The list under `key` of a JSON object body, within the batch limit."""
    try:
        body = json_body.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ParseError("body is not valid JSON: nested too deeply") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ParseError(f"body must be a JSON object with a '{key}' list")
    items: list[Any] = body[key]
    if len(items) > settings.CROWDRAY_MAX_BATCH:
        raise PayloadTooLarge(
            f"batch of {len(items)} {key} is over the limit of {settings.CROWDRAY_MAX_BATCH}"
        )
    return items


# Validate: what one kind of upload takes, checked per batch.


@dataclass(frozen=True)
class UploadKind:
    """What one kind of upload takes: the body's list, its fields and checks, and its table."""

    key: str
    fields: Sequence[Field]
    checks: Callable[[], Sequence[CrossCheck]]  # read per request: they follow the settings
    insert: Callable[[Any, dict[str, list[Any]]], int]


def _time_window(name: str) -> CrossCheck:
    return time_window_check(name, settings.CROWDRAY_MAX_AGE_S, settings.CROWDRAY_MAX_FUTURE_S)


def _block_checks() -> list[CrossCheck]:
    return [
        _time_window("start_ns"),
        _time_window("end_ns"),
        ordered_check("start_ns", "end_ns"),
        longest_check("start_ns", "end_ns", settings.CROWDRAY_MAX_BLOCK_S),
    ]


HITS = UploadKind("hits", HIT_FIELDS, lambda: [_time_window("t_ns")], insert_hits)
BLOCKS = UploadKind("blocks", EXPOSURE_FIELDS, _block_checks, insert_exposures)


def validate(kind: UploadKind, items: list[Any], extra: Sequence[CrossCheck] = ()) -> BatchResult:
    """Every item checked against the kind's fields and checks, plus a dialect's extra checks."""
    return validate_batch(items, kind.fields, [*kind.checks(), *extra])


# Store: the valid items, once, and the reply.


class UploadReply(TypedDict):
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


def within_hourly_budget(device: Any, kind: UploadKind, batch: BatchResult) -> str | None:
    """Count a batch's valid hits against CROWDRAY_DEVICE_HITS_PER_HOUR, or refuse it (429).

    A phone flooding 10^5 hits a minute (a hot pixel) would otherwise be stored
    in full and read by every consumer, slowing the counters and the live search
    for everyone (bench_million_live --vandals). The count is of the hits the
    phone had stored in the UTC hour: a refused batch is not counted, so it can
    be sent again after the hour and is stored then (nothing is lost), and store()
    takes back what a batch did not store (refund). A batch past the budget whose
    every hit is stored already (a retry whose reply was lost) is not refused: it
    stores nothing, and its reply says so. Returns the count's key, None when no
    budget applies.
    """
    limit, n = settings.CROWDRAY_DEVICE_HITS_PER_HOUR, batch.n_valid
    if kind.key != "hits" or not limit or not n:
        return None
    now = time.time()
    key = f"device-hits:{device}:{int(now // 3600)}"
    sent = throttle.increment(key, 3600, n)
    if sent > limit:
        refund(key, n)
        if stored_hits(device, batch.columns) == n:
            return None
        raise Throttled(
            wait=3600 - now % 3600,
            detail=f"this phone sent {sent - n:,} hits this UTC hour; {n:,} more would pass the "
            f"limit of {limit:,} an hour (CROWDRAY_DEVICE_HITS_PER_HOUR). Nothing of this batch "
            "was stored: send it again after the hour.",
        )
    return key


def refund(key: str | None, n: int) -> None:
    """Take n hits back from a budget's count (within_hourly_budget's key)."""
    if key is not None and n:
        throttle.increment(key, 3600, -n)


# The budget counts of the store() calls made inside refunded_on_rollback().
_counted_inside: ContextVar[list[tuple[str | None, int]] | None] = ContextVar(
    "counted_inside", default=None
)


@contextmanager
def refunded_on_rollback() -> Iterator[None]:
    """Around a caller's transaction that calls store(): if it fails, the budget is as it was.

    store() counts what it inserted as soon as it returns, but inside a caller's
    transaction.atomic() (the CRAYFIS chunk: blocks, hits and other blocks at once)
    the insert is undone if anything after it fails, commit included. Enter this
    before the atomic block, so that its exit (the commit) happens inside.
    """
    counted: list[tuple[str | None, int]] = []
    token = _counted_inside.set(counted)
    try:
        yield
    except BaseException:
        for key, n in counted:
            refund(key, n)
        raise
    finally:
        _counted_inside.reset(token)


def store(
    device: Any, kind: UploadKind, batch: BatchResult, also: Callable[[], None] | None = None
) -> UploadReply:
    """Insert a validated batch's valid items (with a dialect's `also` in the same transaction)."""
    counted = within_hourly_budget(device, kind, batch)
    try:
        if also is None:
            accepted = kind.insert(device, batch.columns) if batch.n_valid else 0
        else:
            with transaction.atomic():
                accepted = kind.insert(device, batch.columns) if batch.n_valid else 0
                also()
    except BaseException:
        # Nothing stored (the database down, a 503): a retry must find the budget as it was.
        refund(counted, batch.n_valid)
        raise
    duplicates, rejected = batch.n_valid - accepted, len(batch.rejected)
    refund(counted, duplicates)  # stored by an earlier upload, and counted then
    inside = _counted_inside.get()
    if inside is not None:
        inside.append((counted, accepted))
    log.info(
        "upload %s device=%s accepted=%d duplicates=%d rejected=%d",
        *(kind.key, device, accepted, duplicates, rejected),
    )
    for outcome, n in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
        UPLOADS.labels(kind.key, outcome).inc(n)
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": batch.rejected,
        "warnings": batch.warnings,
    }
