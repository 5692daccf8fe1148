"""CREDO's user endpoints: register, login, info, id (a CREDO user is a Volunteer)."""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from credo.models import Team, Volunteer, VolunteerToken
from ingest.models import hash_token


class VolunteerTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <token>` as user/login returned it; request.auth is the Volunteer."""

    def authenticate(self, request: Request) -> tuple[Any, Volunteer] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"token":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <token>'")
        found = (
            VolunteerToken.objects.select_related("volunteer__user", "volunteer__team")
            .filter(token_hash=hash_token(parts[1].decode(errors="replace")))
            .first()
        )
        if found is None or not found.volunteer.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return found.volunteer.user, found.volunteer

    def authenticate_header(self, request: Request) -> str:
        return "Token"


USERNAME = r"^[\w.@+-]+$"


class RegisterIn(serializers.Serializer[Any]):
    email = serializers.EmailField()
    username = serializers.RegexField(USERNAME, max_length=50)
    display_name = serializers.CharField(max_length=50, allow_blank=True, default="")
    password = serializers.CharField(max_length=128, min_length=8)
    team = serializers.CharField(max_length=50, allow_blank=True, default="")
    language = serializers.CharField(max_length=10, allow_blank=True, default="")


class LoginIn(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=50, required=False)
    email = serializers.EmailField(required=False)
    password = serializers.CharField(max_length=128)


class InfoIn(serializers.Serializer[Any]):
    display_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    team = serializers.CharField(max_length=50, required=False, allow_blank=True)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True)


class Info(TypedDict):
    username: str
    display_name: str
    email: str
    team: str
    language: str


def valid(serializer: serializers.Serializer[Any]) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    data: dict[str, Any] = serializer.validated_data
    return data


def _team(name: str) -> Team | None:
    return Team.objects.get_or_create(name=name)[0] if name else None


def register(data: Any) -> None:
    """Create the account (raises ValidationError when the username or email is taken)."""
    fields = valid(RegisterIn(data=data))
    users = get_user_model().objects
    if users.filter(username__iexact=fields["username"]).exists():
        raise serializers.ValidationError({"username": "is taken"})
    if users.filter(email__iexact=fields["email"]).exists():
        raise serializers.ValidationError({"email": "is already registered"})
    try:
        with transaction.atomic():
            user = users.create_user(fields["username"], fields["email"], fields["password"])
            Volunteer.objects.create(
                user=user,
                display_name=fields["display_name"],
                team=_team(fields["team"]),
                language=fields["language"],
            )
    except IntegrityError:  # a race with the same username
        raise serializers.ValidationError({"username": "is taken"}) from None


def login(data: Any) -> tuple[Volunteer, str]:
    """The volunteer of these credentials and a new token (raises AuthenticationFailed)."""
    fields = valid(LoginIn(data=data))
    users = get_user_model().objects.filter(is_active=True)
    if fields.get("username"):
        user = users.filter(username__iexact=fields["username"]).first()
    elif fields.get("email"):
        user = users.filter(email__iexact=fields["email"]).first()
    else:
        raise serializers.ValidationError({"username": "username or email is required"})
    volunteer = Volunteer.objects.filter(user=user).first() if user else None
    if user is None or volunteer is None or not user.check_password(fields["password"]):
        raise exceptions.AuthenticationFailed("Invalid username/email and password combination.")
    return volunteer, volunteer.new_token()


def update(volunteer: Volunteer, data: Any) -> None:
    fields = valid(InfoIn(data=data))
    if "display_name" in fields:
        volunteer.display_name = fields["display_name"]
    if "team" in fields:
        volunteer.team = _team(fields["team"])
    if "language" in fields:
        volunteer.language = fields["language"]
    volunteer.save()


def info(volunteer: Volunteer) -> Info:
    return {
        "username": volunteer.user.username,
        "display_name": volunteer.display_name,
        "email": volunteer.user.email,
        "team": volunteer.team.name if volunteer.team else "",
        "language": volunteer.language,
    }
