"""The upload API's views (devices, hits, exposures) and the researchers' listings.

Thin: an upload goes through the one pipeline, ingest.uploads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from elasticsearch import ApiError, TransportError
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import openapi
from api.problems import PROBLEM_JSON, MethodsFirst, OnlyInLake, problem
from api.query import PAGING, ROW_FILTERS, check_params, query_time_ns
from ingest import es, hits_index
from ingest import serializers as s
from ingest.auth import IsDevice, IsResearcher, RegistrationThrottle, TokenAuthentication
from ingest.days import OnlyInLakeError, day_of, day_text, left_for_lake, only_in_lake
from ingest.models import Device, ExposureBlock, Hit, Shower
from ingest.query import filter_hits, filter_rows
from ingest.schema import TOKEN, problems
from ingest.uploads import BLOCKS, HITS, UploadKind, read_items, request_body, store, validate

log = logging.getLogger(__name__)


def _upload(request: Request, kind: UploadKind) -> Response:
    device = cast("Device", request.auth).id  # IsDevice let only device tokens through
    batch = validate(kind, read_items(request_body(request), kind.key))
    body = store(device, kind, batch)
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
        if not isinstance(request.data, dict):  # JSON null, a list, a number: not an object
            raise ValidationError({"body": 'must be a JSON object, e.g. {"model": "Pixel 8"}'})
        serializer = s.DeviceIn(data=request.data)
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

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """The cursor and page size as api.query.check_params accepts them."""
        most = self.max_page_size
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "the cursor of the previous page's next",
                "schema": openapi.TOKEN,
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"1 to {most} (CROWDRAY_HITS_PAGE_MAX), default {self.page_size}",
                "schema": {"type": "integer", "minimum": 1, "maximum": most},
            },
        ]


# Researchers' endpoints take a researcher's token or a staff session (no Basic auth:
# checking a password costs ~250 ms of CPU, an open door to floods).
RESEARCHER_AUTH: Any = [{TOKEN: []}, {"cookieAuth": []}]

_HIT_FILTERS = [
    OpenApiParameter("since", openapi.TIME, description=f"inclusive: {openapi.TIME_HELP}"),
    OpenApiParameter(
        "until", openapi.TIME, description=f"exclusive, after since: {openapi.TIME_HELP}"
    ),
    OpenApiParameter("bbox", openapi.BBOX, description=openapi.BBOX_HELP),
    OpenApiParameter("device", {"type": "string", "format": "uuid"}, description="device id"),
]


def held(model: type[Hit | ExposureBlock], params: Any, what: str) -> None:
    """A 410 when the rows asked for reach days that left the database (ingest.days)."""
    since = query_time_ns(params["since"], "since") if "since" in params else None
    try:
        only_in_lake(model, since, what)
    except OnlyInLakeError as exc:
        raise OnlyInLake(str(exc)) from None


class UploadListView(MethodsFirst, ListAPIView[Any]):
    """POST: a device uploads a batch (ingest.uploads). GET: researchers page through rows."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = [JSONParser]  # the body is read as JSON (gzipped or not) whatever is sent
    kind: UploadKind

    def get_permissions(self) -> list[BasePermission]:
        return [IsDevice()] if self.request.method == "POST" else [IsResearcher()]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, (*ROW_FILTERS, *PAGING), HitCursor().max_page_size)
        indexed = self.from_index(request)
        return indexed if indexed is not None else super().get(request, *args, **kwargs)

    def from_index(self, request: Request) -> Response | None:
        """The reply from Elasticsearch, where the rows are indexed; None: from the database."""
        return None

    def post(self, request: Request) -> Response:
        return _upload(request, self.kind)


def _upload_schema(batch: Any, summary: str, description: str) -> Any:
    return extend_schema(
        request=batch,
        responses={201: s.UploadResult, **problems(400, 401, 403, 405, 413, 415, 422, 429, 503)},
        auth=[{TOKEN: []}],  # type: ignore[list-item]  # drf-spectacular takes requirements
        summary=summary,
        description=description,
    )


def _list_schema(out: Any, summary: str) -> Any:
    return extend_schema(
        parameters=_HIT_FILTERS,
        summary=summary,
        auth=RESEARCHER_AUTH,
        responses={200: out(many=True), **problems(400, 401, 403, 404, 410, 429)},
    )


@extend_schema_view(
    get=_list_schema(s.HitOut, "List hits (researchers)"),
    post=_upload_schema(
        s.HitBatch,
        "Upload a batch of hits",
        f"At most {settings.CROWDRAY_MAX_BATCH} hits and "
        f"{settings.CROWDRAY_MAX_BODY_BYTES} bytes; idempotent on (device, seq, t_ns): "
        "a retry resends the same hits.",
    ),
)
class HitsView(UploadListView):
    kind = HITS
    serializer_class = s.HitOut
    pagination_class = HitCursor

    def get_queryset(self) -> Any:
        held(Hit, self.request.query_params, "hits")
        return filter_hits(Hit.objects.all(), self.request.query_params)

    def from_index(self, request: Request) -> Response | None:
        """The same reply from Elasticsearch (ingest.hits_index); None while it is down."""
        if not es.configured():
            return None
        size = HitCursor().get_page_size(request) or HitCursor.page_size
        try:
            rows, cursor = hits_index.page(request.query_params, size)
        except (ApiError, TransportError) as exc:
            log.warning("hits from the database: the index is unavailable (%s)", exc)
            return None
        following = None
        if cursor is not None:
            query = request.query_params.copy()
            query["cursor"] = cursor
            following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": following, "previous": None, "results": rows})


class ExposureCursor(HitCursor):
    ordering = ("end_ns", "id")


@extend_schema_view(
    get=_list_schema(
        s.ExposureOut, "List exposure blocks (researchers); since/until select blocks that overlap"
    ),
    post=_upload_schema(
        s.ExposureBatch,
        "Upload exposure blocks",
        "Idempotent on (device, block_id, end_ns). A block lasts at most "
        f"{settings.CROWDRAY_MAX_BLOCK_S} s.",
    ),
)
class ExposuresView(UploadListView):
    kind = BLOCKS
    serializer_class = s.ExposureOut
    pagination_class = ExposureCursor

    def get_queryset(self) -> Any:
        params = self.request.query_params
        held(ExposureBlock, params, "exposure blocks")
        return filter_rows(ExposureBlock.objects.all(), params, "start_ns", "end_ns")


class ShowerHitsView(MethodsFirst, APIView):
    """A shower's member hits with their exact positions: researchers only."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="A shower's member hits, exact positions (researchers)",
        auth=RESEARCHER_AUTH,
        responses={200: s.ShowerHits, **problems(401, 403, 404, 410, 429)},
    )
    def get(self, request: Request, shower_id: str) -> Response:
        shower = get_object_or_404(Shower, shower_id=shower_id)
        first, last = shower.member_span()
        if left_for_lake(Hit, first):  # a shower outlives its hits' day: never an empty list
            raise OnlyInLake(
                f"the hits of {shower.shower_id} left the database for the lake (it keeps "
                f"CROWDRAY_DB_RETENTION_DAYS days): read them from the lake's Parquet, "
                f"date={day_text(day_of(first))}, t_ns {first} to {last}"
            )
        members = shower.members().order_by("t_ns", "id")
        hits = s.HitOut(members, many=True).data
        return Response({"shower_id": shower.shower_id, "hits": hits})
