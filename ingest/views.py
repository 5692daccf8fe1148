"""The upload API (devices, hits, exposures) and the researchers' hit listing."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from elasticsearch import ApiError, TransportError
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdray.api_errors import PROBLEM_JSON, MethodsFirst, problem
from crowdray.metrics import UPLOADS
from ingest import es, hits_index, json_body
from ingest import serializers as s
from ingest.auth import IsDevice, IsResearcher, RegistrationThrottle, TokenAuthentication
from ingest.models import Device, ExposureBlock, Hit, Shower
from ingest.query import PAGING, ROW_FILTERS, check_params, filter_hits, filter_rows
from ingest.schema import TOKEN, problems
from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS
from ingest.store import insert_exposures, insert_hits
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


def request_body(request: Request) -> bytes:
    """The body, gunzipped when sent with Content-Encoding: gzip; the size limit holds for both."""
    try:
        raw = request.body
    except RequestDataTooBig:
        limit = settings.CROWDRAY_MAX_BODY_BYTES
        raise PayloadTooLarge(f"body is over the limit of {limit} bytes") from None
    return decoded_body(raw, request.META.get("CONTENT_LENGTH"),
                        request.META.get("HTTP_CONTENT_ENCODING"))  # fmt: skip


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


class UploadReply(TypedDict):
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@dataclass(frozen=True)
class UploadKind:
    """What one upload endpoint takes: the body's list, its fields and checks, and its table."""

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


def store_batch(device: Any, kind: UploadKind, batch: BatchResult) -> UploadReply:
    """Insert a validated batch's valid items; count them; the 201 reply's body."""
    accepted = kind.insert(device, batch.columns) if batch.n_valid else 0
    log.info("upload %s device=%s accepted=%d duplicates=%d rejected=%d", kind.key, device,
             accepted, batch.n_valid - accepted, len(batch.rejected))  # fmt: skip
    for outcome, n in (("accepted", accepted), ("duplicate", batch.n_valid - accepted),
                       ("rejected", len(batch.rejected))):  # fmt: skip
        UPLOADS.labels(kind.key, outcome).inc(n)
    return {
        "accepted": accepted,
        "duplicates": batch.n_valid - accepted,
        "rejected": batch.rejected,
        "warnings": batch.warnings,
    }


def _upload(request: Request, kind: UploadKind) -> Response:
    device = cast("Device", request.auth).id  # IsDevice let only device tokens through
    items = read_items(request_body(request), kind.key)
    batch = validate_batch(items, kind.fields, kind.checks())
    body = store_batch(device, kind, batch)
    if batch.rejected and not batch.n_valid:
        n = len(batch.rejected)
        detail = f"nothing was stored: every item was rejected ({n} of {n} {kind.key})"
        reply = problem("rejected", 422, detail, **body)
        return Response(reply, status=422, content_type=PROBLEM_JSON)
    return Response(body, status=status.HTTP_201_CREATED)


class DeviceRegisterView(MethodsFirst, APIView):
    authentication_classes: Sequence[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationThrottle]

    parser_classes = [JSONParser]

    @extend_schema(
        request=s.DeviceIn,
        responses={201: s.DeviceOut, **problems(400, 405, 429)},
        summary="Register a device",
    )
    def post(self, request: Request) -> Response:
        serializer = s.DeviceIn(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        device, token = Device.register(**serializer.validated_data)
        return Response({"device_id": str(device.id), "token": token}, status=201)


class HitCursor(CursorPagination):
    ordering = ("t_ns", "id")
    page_size = 1000
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # type: ignore[override]  # a setting, read per request
        return settings.CROWDRAY_HITS_PAGE_MAX


# Researchers' endpoints take a researcher's token or a staff session (no Basic auth:
# checking a password costs ~250 ms of CPU, an open door to floods).
RESEARCHER_AUTH: Any = [{TOKEN: []}, {"cookieAuth": []}]

_HIT_FILTERS = [
    OpenApiParameter("since", str, description="ISO 8601 time or UTC epoch ns (inclusive)"),
    OpenApiParameter("until", str, description="ISO 8601 time or UTC epoch ns (exclusive)"),
    OpenApiParameter(
        "bbox", str, description="min_lon,min_lat,max_lon,max_lat; min_lon > max_lon crosses 180°"
    ),
    OpenApiParameter("device", str, description="device id"),
]


class HitsView(MethodsFirst, ListAPIView[Hit]):
    """POST: a device uploads a batch of hits. GET: researchers page through hits."""

    authentication_classes = [
        TokenAuthentication,
        SessionAuthentication,
    ]
    parser_classes = [JSONParser]  # the body is read as JSON (gzipped or not) whatever is sent
    serializer_class = s.HitOut
    pagination_class = HitCursor

    def get_permissions(self) -> list[BasePermission]:
        return [IsDevice()] if self.request.method == "POST" else [IsResearcher()]

    def get_queryset(self) -> Any:
        return filter_hits(Hit.objects.all(), self.request.query_params)

    @extend_schema(
        parameters=_HIT_FILTERS,
        summary="List hits (researchers)",
        auth=RESEARCHER_AUTH,
        responses={200: s.HitOut(many=True), **problems(400, 401, 403, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, (*ROW_FILTERS, *PAGING), HitCursor().max_page_size)
        if es.configured():
            try:
                return self.from_index(request)
            except (ApiError, TransportError) as exc:
                log.warning("hits from the database: the index is unavailable (%s)", exc)
        return super().get(request, *args, **kwargs)

    def from_index(self, request: Request) -> Response:
        """The same reply from Elasticsearch (ingest.hits_index); the database if it is down."""
        size = HitCursor().get_page_size(request) or HitCursor.page_size
        rows, cursor = hits_index.page(request.query_params, size)
        following = None
        if cursor is not None:
            query = request.query_params.copy()
            query["cursor"] = cursor
            following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": following, "previous": None, "results": rows})

    @extend_schema(
        request=s.HitBatch,
        responses={201: s.UploadResult, **problems(400, 401, 403, 405, 413, 415, 422, 429, 503)},
        auth=[{TOKEN: []}],  # type: ignore[list-item]  # drf-spectacular takes requirements
        summary="Upload a batch of hits",
        description=f"At most {settings.CROWDRAY_MAX_BATCH} hits and "
        f"{settings.CROWDRAY_MAX_BODY_BYTES} bytes; idempotent on (device, seq).",
    )
    def post(self, request: Request) -> Response:
        return _upload(request, HITS)


class ExposureCursor(HitCursor):
    ordering = ("end_ns", "id")


class ExposuresView(MethodsFirst, ListAPIView[ExposureBlock]):
    """POST: a device uploads exposure blocks. GET: researchers page through them."""

    parser_classes = [JSONParser]  # the body is read as JSON (gzipped or not) whatever is sent
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    serializer_class = s.ExposureOut
    pagination_class = ExposureCursor

    def get_permissions(self) -> list[BasePermission]:
        return [IsDevice()] if self.request.method == "POST" else [IsResearcher()]

    def get_queryset(self) -> Any:
        return filter_rows(ExposureBlock.objects.all(), self.request.query_params,
                           "start_ns", "end_ns")  # fmt: skip

    @extend_schema(
        parameters=_HIT_FILTERS,
        summary="List exposure blocks (researchers); since/until select blocks that overlap",
        auth=RESEARCHER_AUTH,
        responses={200: s.ExposureOut(many=True), **problems(400, 401, 403, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, (*ROW_FILTERS, *PAGING), HitCursor().max_page_size)
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.ExposureBatch,
        responses={201: s.UploadResult, **problems(400, 401, 403, 405, 413, 415, 422, 429, 503)},
        auth=[{TOKEN: []}],  # type: ignore[list-item]  # drf-spectacular takes requirements
        summary="Upload exposure blocks",
        description="Idempotent on (device, block_id). A block lasts at most "
        f"{settings.CROWDRAY_MAX_BLOCK_S} s.",
    )
    def post(self, request: Request) -> Response:
        return _upload(request, BLOCKS)


class ShowerHitsView(MethodsFirst, APIView):
    """A shower's member hits with their exact positions: researchers only."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="A shower's member hits, exact positions (researchers)",
        auth=RESEARCHER_AUTH,
        responses={200: s.ShowerHits, **problems(401, 403, 404, 429)},
    )
    def get(self, request: Request, shower_id: str) -> Response:
        shower = get_object_or_404(Shower, shower_id=shower_id)
        members = shower.hits.order_by("t_ns", "id")
        return Response({"shower_id": shower.shower_id,
                         "hits": s.HitOut(members, many=True).data})  # fmt: skip
