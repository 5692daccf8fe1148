"""/api/v2/: CREDO's open API v2, so the CREDO detector app can point at crowdray unchanged.

Replies have the shapes of CREDO's samples; errors are problems (RFC 9457)
that also carry CREDO's `message`. Not in the OpenAPI schema: its contract is
CREDO's API (README, "CREDO compatibility").
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.problems import MethodsFirst
from credo import accounts, uploads
from credo.models import Volunteer
from ingest.auth import AddressThrottle
from ingest.uploads import read_items, request_body


class AccountThrottle(AddressThrottle):
    """Registrations and logins per client address (password guessing, account spam)."""

    scope = "credo-account"
    rate_setting = "CROWDRAY_REGISTER_RATE"


class IsVolunteer(BasePermission):
    message = "Authentication credentials were not provided: send 'Authorization: Token <token>'"

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Volunteer)


@extend_schema(exclude=True)
class CredoView(MethodsFirst, APIView):
    authentication_classes = [accounts.VolunteerTokenAuthentication]
    permission_classes = [IsVolunteer]

    @property
    def volunteer(self) -> Volunteer:
        return cast("Volunteer", self.request.auth)


class Register(CredoView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AccountThrottle]

    def post(self, request: Request) -> Response:
        accounts.register(request.data)
        return Response({"message": "Registered: log in with your username or email."})


class Login(Register):
    def get_authenticate_header(self, request: Request) -> str:
        return "Token"  # wrong credentials are a 401, as CREDO answers them

    def post(self, request: Request) -> Response:
        volunteer, token = accounts.login(request.data)
        return Response({**accounts.info(volunteer), "token": token})


class Info(CredoView):
    def get(self, request: Request) -> Response:
        return Response(accounts.info(self.volunteer))

    def post(self, request: Request) -> Response:
        accounts.update(self.volunteer, request.data)
        return Response(accounts.info(self.volunteer))


class UserId(CredoView):
    def get(self, request: Request) -> Response:
        return Response({"id": self.volunteer.public_id})

    post = get


class Detections(CredoView):
    def post(self, request: Request) -> Response:
        device = uploads.phone(self.volunteer, request.data)
        detections = read_items(request_body(request), "detections")
        stored = uploads.store_detections(device, detections)
        if detections and all(s["id"] is None for s in stored):
            first = next(s for s in stored if "errors" in s)
            raise serializers.ValidationError(
                {"detections": f"every detection was rejected; the first: {first['errors']}"}
            )
        return Response({"detections": stored})


class Ping(CredoView):
    def post(self, request: Request) -> Response:
        device = uploads.phone(self.volunteer, request.data)
        uploads.store_ping(device, request.data)
        return Response({"message": "Ping stored."})
