"""CREDO's volunteers, their teams, phones and what a detection carries beyond a hit.

A CREDO user is a Django user with a Volunteer profile; each phone they use
becomes an ingest Device, so their detections are hits like any other and the
search, counters and exports need nothing new.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from ingest.models import Device, hash_token


class Team(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    """A CREDO user: the account behind one or more phones."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    display_name = models.CharField(max_length=50, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    language = models.CharField(max_length=10, blank=True)
    public_id = models.CharField(max_length=64, unique=True, editable=False)

    def __str__(self) -> str:
        return self.user.username

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.public_id:
            self.public_id = secrets.token_hex(32)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def new_token(self) -> str:
        """A fresh login token; earlier ones stay valid (one per phone that logged in)."""
        token = secrets.token_hex(32)
        VolunteerToken.objects.create(volunteer=self, token_hash=hash_token(token))
        return token


class VolunteerToken(models.Model):
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Phone(models.Model):
    """A volunteer's phone as CREDO names it, and the crowdray device its hits belong to."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="phones")
    credo_device_id = models.CharField(max_length=50)
    device = models.OneToOneField(Device, on_delete=models.CASCADE)
    device_type = models.CharField(max_length=50, blank=True)
    device_model = models.CharField(max_length=50, blank=True)
    system_version = models.CharField(max_length=50, blank=True)
    app_version = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["volunteer", "credo_device_id"], name="phone_unique")
        ]


class Detection(models.Model):
    """What a CREDO detection carries beyond its hit (device, seq): for researchers."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE)
    seq = models.BigIntegerField(help_text="the hit's seq: a hash of timestamp, x and y")
    client_id = models.BigIntegerField(null=True, blank=True, help_text="the app's own id")
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    frame_content = models.TextField(blank=True, help_text="base64 PNG crop, <= 10,000 chars")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="detection_unique")]
