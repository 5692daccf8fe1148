"""POST /submit: the CRAYFIS app's upload, a protobuf DataChunk, stored as crowdray's own.

Off unless CROWDRAY_CRAYFIS_SALT is set (404). Replies are the codes the app acts
on: 202 with a JSON command body (`{}` when there is nothing to say), 400 for a
body or headers it cannot read, 401 for an App-code no volunteer has, 413 for a
body over the limit, 422 for a wrong Hash-code or an item that breaks the upload
contract. A chunk is stored whole or not at all, and a resent one stores nothing
twice (crayfis.chunk derives the keys).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException, ParseError, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.problems import PROBLEM_JSON, MethodsFirst, problem
from crayfis import chunk as chunks
from crayfis.models import OtherBlock, Phone
from credo.models import Volunteer
from ingest import uploads
from ingest.auth import RegistrationThrottle
from ingest.models import Device
from ingest.schema import problems
from ingest.serializers import Problem
from ingest.validation import BatchResult
from vocab.crayfis import REQUIRED_HEADERS, hash_code

log = logging.getLogger(__name__)
HEADERS = [
    OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True, description=text)
    for name, text in (
        ("Device-id", "the phone (Android ANDROID_ID)"),
        ("Camera-id", "the camera that took the data"),
        ("Run-id", "the app run's UUID"),
        ("Hash-code", "base64 SHA-256 of CROWDRAY_CRAYFIS_SALT followed by the body"),
    )
] + [
    OpenApiParameter("App-code", str, OpenApiParameter.HEADER, description="a volunteer's name"),
    OpenApiParameter("Crayfis-version", str, OpenApiParameter.HEADER, description="b <version>"),
]


class UnknownAppCode(APIException):
    """401, which the app reads as "bad app code" (DRF would make an AuthenticationFailed 403)."""

    status_code = 401
    default_code = "authentication_failed"


def _headers(request: Request) -> dict[str, str]:
    missing = [name for name in REQUIRED_HEADERS if not request.headers.get(name)]
    if missing:
        raise ValidationError(dict.fromkeys(missing, "this header is required"))
    return {name: str(request.headers[name])[:64] for name in REQUIRED_HEADERS}


def _volunteer(request: Request) -> Volunteer | None:
    code = request.headers.get("App-code")
    if not code:
        return None
    found = Volunteer.objects.filter(user__username=code).first()
    if found is None:
        raise UnknownAppCode(f"App-code {code[:50]!r}: no volunteer has this name")
    return found


def _rejected(batch: BatchResult, paths: list[str]) -> dict[str, Any]:
    """Each rejected item's errors, under its place in the chunk."""
    return {paths[r["index"]]: r["errors"] for r in batch.rejected}


class Submit(MethodsFirst, APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        parameters=HEADERS,
        responses={
            202: OpenApiResponse(description="stored; a JSON object of commands for the app"),
            **problems(400, 401, 404, 405, 413, 429, 503),
            (422, PROBLEM_JSON): OpenApiResponse(
                response=Problem,
                description="a wrong Hash-code, or items that break the upload contract "
                "(`errors` by their place in the chunk); nothing was stored",
            ),
        },
        summary="The CRAYFIS app's upload: one serialized crayfis.DataChunk",
    )
    def post(self, request: Request) -> Response:
        salt = settings.CROWDRAY_CRAYFIS_SALT
        if not salt:
            raise Http404("the CRAYFIS upload is off: set CROWDRAY_CRAYFIS_SALT to turn it on")
        body = uploads.request_body(request)
        headers = _headers(request)
        if not hmac.compare_digest(headers["Hash-code"], hash_code(salt, body)):
            reply = problem("invalid_hash", 422, "Hash-code does not match the body and the salt")
            return Response(reply, status=422, content_type=PROBLEM_JSON)
        try:
            data = chunks.parse(body)
        except chunks.ChunkError as exc:
            raise ParseError(str(exc)) from None
        volunteer = _volunteer(request)
        phone_name = f"{headers['Device-id']}/{headers['Camera-id']}"
        items = chunks.mapped(data, phone_name, headers["Run-id"])
        blocks = uploads.validate(uploads.BLOCKS, items.blocks)
        hits = uploads.validate(uploads.HITS, items.hits)
        rejected = _rejected(blocks, items.block_paths) | _rejected(hits, items.hit_paths)
        if rejected:
            detail = f"nothing was stored: {len(rejected)} items break the upload contract"
            reply = problem("rejected", 422, detail, errors=rejected)
            return Response(reply, status=422, content_type=PROBLEM_JSON)
        device = self._store(request, headers, volunteer, items, blocks, hits)
        log.info(
            "crayfis upload device=%s blocks=%d hits=%d other blocks=%d calibrations=%d",
            *(device.id, blocks.n_valid, hits.n_valid, len(items.others), items.calibrations),
        )
        return Response(self._commands(volunteer), status=202)

    def _store(
        self,
        request: Request,
        headers: dict[str, str],
        volunteer: Volunteer | None,
        items: chunks.Mapped,
        blocks: BatchResult,
        hits: BatchResult,
    ) -> Device:
        with uploads.refunded_on_rollback(), transaction.atomic():
            device = self._device(request, headers, volunteer)
            uploads.store(device.id, uploads.BLOCKS, blocks)
            uploads.store(device.id, uploads.HITS, hits)
            OtherBlock.objects.bulk_create(
                [
                    OtherBlock(
                        device=device,
                        block_id=o["block_id"],
                        state=o["state"],
                        start_ns=o["start_ns"],
                        end_ns=o["end_ns"],
                        n_events=o["n_hits"],
                    )
                    for o in items.others
                ],
                ignore_conflicts=True,
            )
        return device

    def _device(
        self, request: Request, headers: dict[str, str], volunteer: Volunteer | None
    ) -> Device:
        """The phone's crowdray device: made on its first valid upload, within the rate limit."""
        key = {"android_id": headers["Device-id"], "camera_id": headers["Camera-id"]}
        phone = Phone.objects.select_related("device").filter(**key).first()
        if phone is None:
            throttle = RegistrationThrottle()
            if not throttle.allow_request(request, self):
                raise Throttled(throttle.wait())
            version = str(request.headers.get("Crayfis-version", ""))[:50]
            device, _ = Device.register(model="CRAYFIS", app_version=version)
            phone = Phone.objects.create(device=device, volunteer=volunteer, **key)
        elif volunteer is not None and phone.volunteer_id != volunteer.id:
            phone.volunteer = volunteer
            phone.save(update_fields=["volunteer"])
        return phone.device

    def _commands(self, volunteer: Volunteer | None) -> dict[str, Any]:
        """The app's command object: nothing to change, and whose account the data count for."""
        if volunteer is None:
            return {}
        return {"account_name": volunteer.display_name or volunteer.user.username}
