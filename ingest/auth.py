"""Who may call what: device tokens for uploads, staff and researchers for reads."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ingest import throttle
from ingest.models import Device, ResearcherToken, hash_token

RESEARCHER_GROUP = "researcher"


class TokenAuthentication(BaseAuthentication):
    """`Authorization: Token <token>`, a device's or a researcher's.

    A device token sets request.auth to the Device and no user; a researcher's
    sets request.user to the account. So a device token never grants a
    researcher's access.
    """

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == b"bearer":
            raise exceptions.AuthenticationFailed(
                "send the device token as 'Authorization: Token <token>', not Bearer"
            )
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <token>'")
        token_hash = hash_token(parts[1].decode(errors="replace"))
        device = device_of(token_hash)
        if device is not None:
            return None, device
        researcher = (
            ResearcherToken.objects.select_related("user")
            .filter(token_hash=token_hash, user__is_active=True)
            .first()
        )
        if researcher is None:
            raise exceptions.AuthenticationFailed("unknown or revoked token")
        return researcher.user, researcher

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def device_of(token_hash: str) -> Device | None:
    """The active device with this token, remembered for CROWDRAY_TOKEN_CACHE_S.

    Uploads come in bursts from the same phones; remembering the device saves a
    database round trip per upload. A revoked device is refused once the entry
    expires.
    """
    key = f"crowdray:device:{token_hash}"
    device: Device | None = cache.get(key)
    if device is None:
        device = Device.objects.filter(token_hash=token_hash, is_active=True).first()
        if device is not None and settings.CROWDRAY_TOKEN_CACHE_S > 0:
            cache.set(key, device, settings.CROWDRAY_TOKEN_CACHE_S)
    return device


class IsDevice(BasePermission):
    message = "a device token is required: Authorization: Token <token>"

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Device)


class IsResearcher(BasePermission):
    message = (
        "researchers only: a researcher's token ('crowdray researcher add') or a staff session"
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        return user.is_staff or user.groups.filter(name=RESEARCHER_GROUP).exists()


class AddressThrottle(SimpleRateThrottle):
    """Requests per client address, at the rate the setting `rate_setting` names.

    Counted atomically in a store every worker shares (ingest.throttle), per
    fixed window, so the limit holds across workers and concurrent requests.
    """

    rate_setting = ""

    def get_rate(self) -> str:
        rate: str = getattr(settings, self.rate_setting)
        return rate

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: Any) -> bool:
        limit, period = self.parse_rate(self.get_rate())
        if limit is None or period is None:
            return True
        now = time.time()
        window = int(now // period)
        key = f"{self.get_cache_key(request, view)}:{period}:{window}"
        self.wait_s = (window + 1) * period - now
        return throttle.increment(key, period) <= limit

    def wait(self) -> float:
        return max(self.wait_s, 1.0)


class RegistrationThrottle(AddressThrottle):
    scope = "register"
    rate_setting = "CROWDRAY_REGISTER_RATE"
