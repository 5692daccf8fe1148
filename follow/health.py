"""GET /api/v1/health: is the database reachable, and how far behind is each consumer."""

from __future__ import annotations

import logging
from typing import TypedDict

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.problems import MethodsFirst
from follow.follower import ConsumerLag, status
from vocab.limits import DB_DOWN_RETRY_AFTER_S

log = logging.getLogger(__name__)


class Health(TypedDict):
    database: str  # "ok" or "unreachable"
    consumers: dict[str, ConsumerLag]


_LAG = inline_serializer(
    "ConsumerLag",
    {
        "rows": serializers.IntegerField(help_text="rows not yet folded in"),
        "seconds": serializers.FloatField(help_text="age of the oldest such row"),
        "folded": serializers.IntegerField(help_text="rows folded in so far"),
        "updated_at": serializers.DateTimeField(allow_null=True),
    },
)
_HEALTH = inline_serializer(
    "Health",
    {
        "database": serializers.ChoiceField(["ok", "unreachable"]),
        "consumers": serializers.DictField(child=_LAG),
    },
)


class HealthView(MethodsFirst, APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses={200: _HEALTH, 503: _HEALTH}, summary="Service health")
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            body: Health = {"database": "ok", "consumers": status()}
        except DatabaseError as exc:
            log.warning("health: database unreachable: %s", exc)
            body = {"database": "unreachable", "consumers": {}}
            return Response(body, status=503, headers={"Retry-After": str(DB_DOWN_RETRY_AFTER_S)})
        return Response(body)
