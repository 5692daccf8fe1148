"""Serializers for the OpenAPI schema and the researchers' read API.

Upload bodies are not validated here (see ingest.validation): the request
serializers are built from the same field specs only to document them.
"""

from __future__ import annotations

from rest_framework import serializers

from ingest.models import Device, Hit
from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS
from ingest.validation import Field

_KINDS = {"int": serializers.IntegerField, "float": serializers.FloatField}


def _documented(name: str, fields: tuple[Field, ...]) -> type[serializers.Serializer]:
    attrs: dict[str, serializers.Field] = {}
    for f in fields:
        if f.kind == "uuid":
            attrs[f.name] = serializers.UUIDField(required=f.required, help_text=f.help)
        else:
            attrs[f.name] = _KINDS[f.kind](
                required=f.required, min_value=f.lo, max_value=f.hi, help_text=f.help
            )
    return type(name, (serializers.Serializer,), attrs)


HitIn = _documented("HitIn", HIT_FIELDS)
ExposureIn = _documented("ExposureIn", EXPOSURE_FIELDS)


class HitBatch(serializers.Serializer):
    hits = HitIn(many=True)


class ExposureBatch(serializers.Serializer):
    blocks = ExposureIn(many=True)


class Rejection(serializers.Serializer):
    index = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.CharField())


class UploadResult(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="newly stored")
    duplicates = serializers.IntegerField(help_text="already stored by an earlier upload")
    rejected = Rejection(many=True)


class DeviceIn(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["model", "os", "app_version"]


class DeviceOut(serializers.Serializer):
    device_id = serializers.UUIDField()
    token = serializers.CharField(help_text="shown once; send as 'Authorization: Token <token>'")


class HitOut(serializers.ModelSerializer):
    hit_id = serializers.IntegerField(source="id")

    class Meta:
        model = Hit
        fields = [
            "hit_id", "device_id", "seq", "t_ns", "t_err_ns", "lat", "lon", "alt_m",
            "loc_err_m", "x", "y", "value", "n_pixels",
        ]  # fmt: skip
