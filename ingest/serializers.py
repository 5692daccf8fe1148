"""Serializers for the OpenAPI schema and the researchers' read API.

Upload bodies are not validated here (see ingest.validation): the request
serializers are built from the same field specs only to document them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from ingest.models import Device, ExposureBlock, Hit
from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS
from ingest.validation import Field
from vocab.contracts import EXPOSURE_SCHEMA, UPLOAD_HIT_FIELDS


def _field(f: Field) -> serializers.Field[Any, Any, Any, Any]:
    # An optional field may be null: the same as leaving it out (ingest.validation).
    common: dict[str, Any] = {
        "required": f.required,
        "allow_null": not f.required,
        "help_text": f.help if f.required else f"{f.help}; null or absent: unknown",
    }
    if f.kind == "uuid":
        return serializers.UUIDField(**common)
    if f.kind == "int":
        lo, hi = (None if v is None else int(v) for v in (f.lo, f.hi))
        return serializers.IntegerField(min_value=lo, max_value=hi, **common)
    return serializers.FloatField(min_value=f.lo, max_value=f.hi, **common)


def _documented(name: str, fields: tuple[Field, ...]) -> type[serializers.Serializer[Any]]:
    attrs = {f.name: _field(f) for f in fields}
    return type(name, (serializers.Serializer,), attrs)


HitIn = _documented("HitIn", HIT_FIELDS)
ExposureIn = _documented("ExposureIn", EXPOSURE_FIELDS)


class HitBatch(serializers.Serializer[Any]):
    hits = HitIn(many=True)


class ExposureBatch(serializers.Serializer[Any]):
    blocks = ExposureIn(many=True)


class Rejection(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="position of the item in the batch")
    # The reply's key is "errors"; this schema-only serializer never uses Serializer.errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="field: what is wrong with it"
    )


class ItemWarning(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="position of the item in the batch")
    warnings = serializers.DictField(
        child=serializers.CharField(), help_text="field: why it was not stored"
    )


class Problem(serializers.Serializer[Any]):
    """RFC 9457 problem details (application/problem+json)."""

    type = serializers.CharField(help_text="/api/problems/<code>: what this kind means")
    title = serializers.CharField(help_text="the HTTP status phrase")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="what was wrong, in words")
    errors = serializers.DictField(  # type: ignore[assignment]  # a reply key, as in Rejection
        required=False, help_text="one message per query parameter or body field"
    )


class RejectedBatch(Problem):
    """422: every item was rejected; nothing was stored."""

    accepted = serializers.IntegerField(help_text="always 0")
    duplicates = serializers.IntegerField(help_text="always 0")
    rejected = Rejection(many=True)
    warnings = ItemWarning(many=True)


class UploadResult(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="newly stored")
    duplicates = serializers.IntegerField(help_text="already stored by an earlier upload")
    rejected = Rejection(many=True)
    warnings = ItemWarning(many=True, help_text="items stored without some of their fields")


class Text(serializers.CharField):
    """A string and only a string: DRF's CharField would store 0 as "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class DeviceIn(serializers.ModelSerializer[Device]):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: Text,
    }

    class Meta:
        model = Device
        fields = ["model", "os", "app_version"]


class DeviceOut(serializers.Serializer[Any]):
    device_id = serializers.UUIDField()
    token = serializers.CharField(help_text="shown once; send as 'Authorization: Token <token>'")


class HitOut(serializers.ModelSerializer[Hit]):
    hit_id = serializers.IntegerField(source="id")

    class Meta:
        model = Hit
        fields = ["hit_id", "device_id", *UPLOAD_HIT_FIELDS]


class ExposureOut(serializers.ModelSerializer[ExposureBlock]):
    class Meta:
        model = ExposureBlock
        fields = EXPOSURE_SCHEMA.names


class ShowerHits(serializers.Serializer[Any]):
    shower_id = serializers.CharField()
    hits = HitOut(many=True)
