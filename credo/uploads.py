"""CREDO detections become hits and pings become exposure blocks, through ingest.uploads.

A detection has no sequence number, and CREDO's app really did resend
detections. So a hit's seq is derived from the natural key (timestamp, x, y)
of the phone: a resent detection gets the same seq and is stored once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from credo.models import Detection, Phone, Volunteer
from ingest import uploads
from ingest.models import Device, Hit
from ingest.validation import Columns, Errors
from vocab.units import NS_PER_S

NS_PER_MS = 10**6
MAX_FRAME_CHARS = 10_000
# Our field: CREDO's, so that errors name what the app sent.
CREDO_NAMES = {
    "t_ns": "timestamp",
    "lat": "latitude",
    "lon": "longitude",
    "alt_m": "altitude",
    "loc_err_m": "accuracy",
}
DEVICE_FIELDS = ("device_type", "device_model", "system_version", "app_version")


class Stored(TypedDict):
    """One detection in the reply: its hit id, or None and why it was rejected."""

    id: int | None
    visible: bool
    errors: NotRequired[dict[str, str]]


def natural_seq(timestamp: Any, x: Any, y: Any) -> int:
    """A 63-bit seq from the natural key of a detection, the same for every resend."""
    digest = hashlib.sha256(f"{timestamp}:{x}:{y}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def phone(volunteer: Volunteer, data: Any) -> Device:
    """The crowdray device for the request's device_id (created on first use)."""
    credo_id = data.get("device_id") if isinstance(data, dict) else None
    if not isinstance(credo_id, str) or not 0 < len(credo_id) <= 50:
        raise serializers.ValidationError({"device_id": "is required: 50 characters or fewer"})
    # Older apps send android_version where newer ones send system_version.
    fields = {name: str(data.get(name) or "")[:50] for name in DEVICE_FIELDS}
    fields["system_version"] = fields["system_version"] or str(data.get("android_version") or "")
    mine = Phone.objects.select_related("device").filter(volunteer=volunteer)
    found = mine.filter(credo_device_id=credo_id).first()
    if found is not None:
        return found.device
    with transaction.atomic():
        device, _ = Device.register(
            model=fields["device_model"],
            os=fields["system_version"],
            app_version=fields["app_version"],
        )
        Phone.objects.create(volunteer=volunteer, credo_device_id=credo_id, device=device, **fields)
    return device


def _as_hit(d: Any) -> Any:
    if not isinstance(d, dict):
        return d
    ts = d.get("timestamp")
    return {
        "seq": natural_seq(ts, d.get("x"), d.get("y")),
        "t_ns": ts * NS_PER_MS if type(ts) is int else ts,
        "lat": d.get("latitude"),
        "lon": d.get("longitude"),
        "alt_m": d.get("altitude"),
        "loc_err_m": d.get("accuracy"),
        "x": d.get("x"),
        "y": d.get("y"),
    }


def _extras_problems(d: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    frame = d.get("frame_content")
    if frame is not None:
        if not isinstance(frame, str) or len(frame) > MAX_FRAME_CHARS:
            out["frame_content"] = f"must be base64 text of at most {MAX_FRAME_CHARS} characters"
        else:
            try:
                base64.b64decode(frame, validate=True)
            except (binascii.Error, ValueError):
                out["frame_content"] = "must be base64 text"
    for name in ("width", "height", "id"):
        if d.get(name) is not None and type(d.get(name)) is not int:
            out[name] = "must be an integer"
    provider = d.get("provider")
    if provider is not None and (not isinstance(provider, str) or len(provider) > 20):
        out["provider"] = "must be text of at most 20 characters"
    return out


def _detection(device: Device, seq: int, d: dict[str, Any]) -> Detection:
    """What CREDO sends beside the hit: its own id, the frame's size and content."""
    return Detection(
        device=device,
        seq=seq,
        client_id=d.get("id"),
        width=d.get("width"),
        height=d.get("height"),
        provider=d.get("provider") or "",
        frame_content=d.get("frame_content") or "",
    )


def store_detections(device: Device, detections: list[Any]) -> list[Stored]:
    """Store the valid detections as hits (plus their extras); one reply item per detection."""

    def extras(columns: Columns, errors: Errors) -> None:  # noqa: ARG001 - a CrossCheck
        for i, d in enumerate(detections):
            if isinstance(d, dict) and (problems := _extras_problems(d)):
                errors.setdefault(i, {}).update(problems)

    batch = uploads.validate(uploads.HITS, [_as_hit(d) for d in detections], [extras])
    rejected = {
        r["index"]: {CREDO_NAMES.get(k, k): v for k, v in r["errors"].items()}
        for r in batch.rejected
    }
    kept = [d for i, d in enumerate(detections) if i not in rejected]

    def details() -> None:
        pairs = zip(batch.columns["seq"], kept, strict=True)
        Detection.objects.bulk_create(
            [_detection(device, seq, d) for seq, d in pairs], ignore_conflicts=True
        )

    uploads.store(device.id, uploads.HITS, batch, also=details)
    ids = dict(
        Hit.objects.filter(device=device, seq__in=batch.columns["seq"]).values_list("seq", "id")
    )
    seqs = iter(batch.columns["seq"])
    return [
        {"id": None, "visible": False, "errors": rejected[i]}
        if i in rejected
        else {"id": ids[next(seqs)], "visible": True}
        for i in range(len(detections))
    ]


class PingIn(serializers.Serializer[Any]):
    timestamp = serializers.IntegerField(min_value=0, help_text="ms since 1970")
    on_time = serializers.IntegerField(min_value=0, help_text="ms the detector ran since the last")
    delta_time = serializers.IntegerField(min_value=0, required=False)


def store_ping(device: Device, data: Any) -> int:
    """The ping's on_time as exposure blocks ending at the ping; returns how many were new.

    A ping carries no position, so its blocks take the phone's latest hit
    position; before its first detection a phone's pings store nothing.
    """
    ping = PingIn(data=data)
    ping.is_valid(raise_exception=True)
    end_ns = ping.validated_data["timestamp"] * NS_PER_MS
    start_ns = end_ns - ping.validated_data["on_time"] * NS_PER_MS
    where = Hit.objects.filter(device=device).order_by("-t_ns").values_list("lat", "lon").first()
    if where is None or start_ns == end_ns:
        return 0
    longest = settings.CROWDRAY_MAX_BLOCK_S * NS_PER_S
    blocks = []
    for k, lo in enumerate(range(start_ns, end_ns, longest)):  # blocks of at most the limit
        name = uuid.uuid5(uuid.NAMESPACE_URL, f"credo-ping:{device.id}:{end_ns}:{k}")
        blocks.append(
            {
                "block_id": str(name),
                "start_ns": lo,
                "end_ns": min(lo + longest, end_ns),
                "lat": where[0],
                "lon": where[1],
            }
        )
    batch = uploads.validate(uploads.BLOCKS, blocks)
    if batch.rejected:
        message = "; ".join(f"{k} {v}" for r in batch.rejected for k, v in r["errors"].items())
        raise serializers.ValidationError({"timestamp": message})
    return uploads.store(device.id, uploads.BLOCKS, batch)["accepted"]
