"""What phones send us: devices, their hits and their exposure blocks."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.db import models

from ingest import near
from vocab.contracts import member_span


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class Device(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    model = models.CharField(max_length=100, blank=True)
    os = models.CharField(max_length=100, blank=True)
    app_version = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    is_active = models.BooleanField(default=True)
    last_seen_ns = models.BigIntegerField(null=True, blank=True, db_index=True)
    # When its latest upload was committed: a phone sending a backlog is active now too.
    last_upload_ns = models.BigIntegerField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.model or 'unknown model'})"

    @classmethod
    def register(cls, **fields: str) -> tuple[Device, str]:
        """Create a device; returns it with its token, which is never stored in clear."""
        token = secrets.token_urlsafe(32)
        device = cls.objects.create(token_hash=hash_token(token), **fields)
        return device, token


class ResearcherToken(models.Model):
    """An API token of a researcher's account (`crowdray researcher add`), stored hashed."""

    user = models.OneToOneField(
        "auth.User", on_delete=models.CASCADE, related_name="researcher_token"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of {self.user}"

    @classmethod
    def issue(cls, user: models.Model) -> str:
        """A new token for the user (replacing any earlier one); shown once."""
        token = secrets.token_urlsafe(32)
        cls.objects.update_or_create(user=user, defaults={"token_hash": hash_token(token)})
        return token


class Hit(models.Model):
    """One hit candidate: the brightest pixel of a frame that passed the phone's trigger."""

    id = models.BigAutoField(primary_key=True)
    # No foreign key constraint in the database: checking it made each 100-hit
    # insert 19-42 % slower (bench/bench_insert.py). The upload has just
    # authenticated the device, and devices are deactivated, never deleted
    # (the admin offers no delete), so no hit can lose its device.
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="hits", db_constraint=False
    )
    seq = models.BigIntegerField()
    t_ns = models.BigIntegerField(help_text="UTC epoch nanoseconds of the frame")
    t_err_ns = models.BigIntegerField(null=True, blank=True, help_text="1 sigma clock error, ns")
    lat = models.FloatField()
    lon = models.FloatField()
    alt_m = models.FloatField(null=True, blank=True)
    loc_err_m = models.FloatField(null=True, blank=True)
    x = models.IntegerField(null=True, blank=True)
    y = models.IntegerField(null=True, blank=True)
    value = models.IntegerField(null=True, blank=True)
    n_pixels = models.IntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The key holds t_ns because PostgreSQL keeps each UTC day of hits in a
        # partition of its own (ingest.days), and a unique key there must hold the
        # partition's column. A retry resends the same hit, so it still matches.
        constraints = [
            models.UniqueConstraint(fields=["device", "seq", "t_ns"], name="hit_device_seq_t")
        ]
        indexes = [models.Index(fields=["t_ns"], name="hit_t_ns")]

    def __str__(self) -> str:
        return f"hit {self.id} of {self.device_id} seq {self.seq}"


class ExposureBlock(models.Model):
    """A stretch of time a phone was taking data: the denominator for rates.

    The client names a block with a UUID; it is unique per device, so two
    devices choosing the same id do not collide. `id` gives the follower an
    insertion order to tail.
    """

    id = models.BigAutoField(primary_key=True)
    block_id = models.UUIDField()
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="exposures")
    start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    lat = models.FloatField()
    lon = models.FloatField()
    loc_err_m = models.FloatField(null=True, blank=True)
    frames = models.BigIntegerField(null=True, blank=True)
    l1_threshold = models.IntegerField(null=True, blank=True)
    l2_threshold = models.IntegerField(null=True, blank=True)
    n_hits = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # With end_ns in the key for the partitions by day, as for hits.
        constraints = [
            models.UniqueConstraint(
                fields=["device", "block_id", "end_ns"], name="exposure_device_block_end"
            )
        ]
        indexes = [
            models.Index(fields=["end_ns"], name="exposure_end"),
            # Phones taking data at one time near one place (a shower page): ingest.near.
            models.Index(
                near.lat_square(),
                near.lon_square(),
                "end_ns",
                "start_ns",
                name="exposure_square_end",
            ),
        ]

    def __str__(self) -> str:
        return f"exposure {self.block_id} of {self.device_id}"


class SearchRun(models.Model):
    """One run of the coincidence search whose candidates were loaded."""

    params = models.JSONField()
    since_ns = models.BigIntegerField(null=True, blank=True)
    until_ns = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"search {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class Shower(models.Model):
    """A shower candidate (the shower contract), linked to its member hits."""

    shower_id = models.CharField(max_length=32, primary_key=True)
    search = models.ForeignKey(SearchRun, on_delete=models.CASCADE, related_name="showers")
    t_ns = models.BigIntegerField(db_index=True)
    t_spread_ns = models.BigIntegerField()
    lat = models.FloatField()
    lon = models.FloatField()
    radius_m = models.FloatField()
    n_devices = models.IntegerField(help_text="distinct phones in the whole shower")
    n_hits = models.IntegerField(help_text="hits in the whole shower")
    n_core_devices = models.IntegerField(help_text="distinct phones in the compact core")
    n_core_hits = models.IntegerField(help_text="hits in the compact core")
    expected_background = models.FloatField()
    significance_sigma = models.FloatField()
    # Reconstruction (null without exposure blocks or when the fit did not converge).
    core_lat = models.FloatField(null=True, blank=True, help_text="fitted core, degrees")
    core_lon = models.FloatField(null=True, blank=True, help_text="fitted core, degrees")
    core_err_m = models.FloatField(null=True, blank=True, help_text="1 sigma, metres")
    log10_energy_ev = models.FloatField(null=True, blank=True)
    log10_energy_err = models.FloatField(null=True, blank=True, help_text="1 sigma")
    n_silent = models.IntegerField(null=True, blank=True, help_text="live phones that did not fire")
    provisional = models.BooleanField(
        default=False, help_text="found by the live search; a batch search replaces it"
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # No foreign key in the database: a day of hits leaves it (for the lake) while
    # its showers stay, and the links keep the hit ids the lake holds.
    hits = models.ManyToManyField(Hit, related_name="showers", blank=True, db_constraint=False)

    def __str__(self) -> str:
        return f"{self.shower_id}: {self.n_devices} devices"

    def member_span(self) -> tuple[int, int]:
        """The times its member hits lie within (vocab.contracts.member_span)."""
        return member_span(self.t_ns, self.t_spread_ns)

    def members(self) -> models.QuerySet[Hit]:
        """The member hits, read from the days they can be in.

        Said in the query, member_span lets PostgreSQL read the one or two day
        partitions of the shower instead of probing every day kept (20 members
        under 365 days: 66 ms -> 1.3 ms, docs/operations.md).
        """
        return self.hits.filter(t_ns__range=self.member_span())


class Minute(models.Model):
    """The network in one UTC minute: hits, phones taking data, live time. Kept by the follower."""

    minute = models.BigIntegerField(primary_key=True, help_text="epoch minutes")
    hits = models.BigIntegerField(default=0, help_text="hits whose t_ns falls in the minute")
    devices = models.IntegerField(
        default=0, help_text="devices with an exposure block covering the minute or a hit in it"
    )
    live_s = models.FloatField(default=0, help_text="exposure seconds within the minute")


class DeviceMinute(models.Model):
    """What one device did in one minute, as counted: its first row counts in Minute.devices.

    hits and live_s are capped (CROWDRAY_MAX_HITS_PER_MIN, 60 s), so no device
    counts more than is plausible and overlapping blocks never count twice.
    """

    minute = models.BigIntegerField()
    device = models.ForeignKey(Device, on_delete=models.CASCADE)
    hits = models.IntegerField(db_default=0, help_text="hits counted (at most the cap)")
    live_s = models.FloatField(db_default=0.0, help_text="exposure seconds counted (at most 60)")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["minute", "device"], name="device_minute_unique")
        ]


class DeviceDay(models.Model):
    """One device's hits and live time on one UTC day (the teams page sums them)."""

    day = models.IntegerField(help_text="UTC epoch day")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, db_constraint=False)
    hits = models.BigIntegerField(default=0)
    live_s = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "device"], name="device_day_unique")]


class DeviceHourCell(models.Model):
    """A cell one device lit on the public map in one UTC hour (at most the cap per hour)."""

    hour = models.BigIntegerField(help_text="UTC epoch hour")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, db_constraint=False)
    cell = models.BigIntegerField(help_text="packed cell key (vocab.cells.cells_of)")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "device", "cell"], name="device_hour_cell_unique"
            )
        ]


class ActiveCell(models.Model):
    """A ~1 km cell where hits were seen: the only positions the public pages show."""

    cell = models.CharField(max_length=32, unique=True)
    lat = models.FloatField(help_text="cell centre")
    lon = models.FloatField(help_text="cell centre")
    last_seen_ns = models.BigIntegerField(db_index=True)
    hits = models.BigIntegerField(default=0)

    class Meta:
        # The map's view (GET /api/v1/cells?bbox=) reads the cells of a band of latitude.
        indexes = [models.Index(fields=["lat", "lon"], name="activecell_lat_lon")]


class ArchivedDay(models.Model):
    """A UTC day of one table that left the database once the lake held it (ingest.days)."""

    table = models.CharField(max_length=63)
    day = models.IntegerField(help_text="UTC epoch day")
    rows = models.BigIntegerField(help_text="rows the day held, equal to the lake's")
    dropped_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "day"], name="archived_day_unique")]

    def __str__(self) -> str:
        return f"{self.table} day {self.day}"


class ConsumerMark(models.Model):
    """How far one consumer of the follower got in one stream (see follow.tail)."""

    consumer = models.CharField(max_length=300)
    stream = models.CharField(max_length=20)
    lo = models.BigIntegerField(default=0, help_text="every row at a position below lo is done")
    hi = models.BigIntegerField(null=True, help_text="end of the range in progress")
    last_id = models.BigIntegerField(default=0, help_text="rows of the range up to this id done")
    rows = models.BigIntegerField(default=0, help_text="rows folded in so far")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "stream"], name="consumer_mark_unique")
        ]

    def __str__(self) -> str:
        return f"{self.consumer}/{self.stream} at {self.lo}"


class StatusSnapshot(models.Model):
    """A public reply as the follower last computed it: 1 status, 2 teams (follow/)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    generated_ns = models.BigIntegerField()
    body = models.TextField(help_text="the reply, as JSON")
