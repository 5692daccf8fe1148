from django.contrib import admin
from django.http import HttpRequest

from ingest.models import Device, ExposureBlock, Hit


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin[Device]):
    list_display = ["id", "model", "os", "app_version", "created_at", "is_active"]
    list_filter = ["is_active", "os"]
    search_fields = ["id", "model"]
    readonly_fields = ["id", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Device | None = None) -> bool:
        """Revoke a device by unticking is_active: its hits stay, and keep their device."""
        return False


@admin.register(Hit)
class HitAdmin(admin.ModelAdmin[Hit]):
    list_display = ["id", "device", "seq", "t_ns", "lat", "lon", "value", "received_at"]
    search_fields = ["device__id"]
    raw_id_fields = ["device"]
    # Counting a table of 10^8 rows on every page view would stall the admin.
    show_full_result_count = False


@admin.register(ExposureBlock)
class ExposureBlockAdmin(admin.ModelAdmin[ExposureBlock]):
    list_display = ["block_id", "device", "start_ns", "end_ns", "frames", "n_hits"]
    raw_id_fields = ["device"]
    show_full_result_count = False
