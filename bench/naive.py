"""The peer to beat in bench_ingest: hit upload the way a DRF tutorial writes it.

A `ModelSerializer(many=True)` validates each hit, `bulk_create` stores them.
It is served next to the real API, as POST /naive/hits, by pointing
DJANGO_SETTINGS_MODULE at bench.naive_settings.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.auth import IsDevice, TokenAuthentication
from ingest.models import Device, Hit
from vocab.contracts import UPLOAD_HIT_FIELDS


class NaiveHit(serializers.ModelSerializer[Hit]):
    class Meta:
        model = Hit
        fields = UPLOAD_HIT_FIELDS


class NaiveHits(APIView):
    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsDevice,)

    def post(self, request: Request) -> Response:
        serializer = NaiveHit(data=request.data["hits"], many=True)  # type: ignore[call-overload]
        serializer.is_valid(raise_exception=True)
        device: Device = request.auth  # type: ignore[assignment]  # IsDevice let only devices in
        rows = [Hit(device=device, **item) for item in serializer.validated_data]
        Hit.objects.bulk_create(rows, ignore_conflicts=True)
        return Response({"accepted": len(rows)}, status=201)


def _urls() -> list[Any]:
    from crowdray.urls import urlpatterns

    return [path("naive/hits", NaiveHits.as_view()), *urlpatterns]


urlpatterns = _urls()
