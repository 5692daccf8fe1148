"""A CRAYFIS phone and the blocks it sent that are not live time.

A phone is the pair (Device-id, Camera-id) its app sends: each camera takes data
on its own. It becomes an ingest Device on its first valid upload, so its hits
and exposure blocks are like any others for the search, counters and exports.
"""

from __future__ import annotations

from django.db import models

from credo.models import Volunteer
from ingest.models import Device


class Phone(models.Model):
    android_id = models.CharField(max_length=64, help_text="the app's Device-id header")
    camera_id = models.CharField(max_length=16, help_text="the app's Camera-id header")
    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="crayfis_phone")
    volunteer = models.ForeignKey(
        Volunteer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crayfis_phones",
        help_text="by App-code",
    )
    app_version = models.CharField(max_length=50, blank=True, help_text="Crayfis-version")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["android_id", "camera_id"], name="crayfis_phone_unique")
        ]


class OtherBlock(models.Model):
    """A block in the INIT, CALIBRATION or PRECALIBRATION state: for the record only."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="crayfis_blocks")
    block_id = models.UUIDField(unique=True, help_text="derived as an exposure block's is")
    state = models.SmallIntegerField(
        help_text="the app's daq_state: 0 INIT, 1 CALIBRATION, 3 PRECALIBRATION"
    )
    start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    n_events = models.IntegerField()
