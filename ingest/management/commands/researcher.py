"""`crowdray researcher add EMAIL [--name NAME] | revoke EMAIL | list`: researchers' API access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from ingest.auth import RESEARCHER_GROUP
from ingest.models import ResearcherToken


class Command(BaseCommand):
    help = "Give a researcher an API token for the hits, exposures and showers' member hits."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create the account (or reuse it) and print a new token")
        add.add_argument("email")
        add.add_argument("--name", default="", help="the researcher's name, for the admin")
        revoke = sub.add_parser("revoke", help="revoke the account's token")
        revoke.add_argument("email")
        sub.add_parser("list", help="researchers with a token")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "list":
            for token in ResearcherToken.objects.select_related("user").order_by("user__email"):
                self.stdout.write(
                    f"{token.user.email}\t{token.user.get_full_name()}\t"
                    f"since {token.created_at:%Y-%m-%d}"
                )
            return
        email = opts["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{opts['email']!r} is not an email address") from None
        users = get_user_model().objects
        if opts["action"] == "revoke":
            deleted, _ = ResearcherToken.objects.filter(user__email__iexact=email).delete()
            if not deleted:
                raise CommandError(f"{email} has no token")
            self.stdout.write(f"revoked the token of {email}")
            return
        user = users.filter(email__iexact=email).first()
        if user is None:
            user = users.create_user(username=email, email=email)  # no password: tokens only
        if opts["name"]:
            first, _, last = opts["name"].partition(" ")
            user.first_name, user.last_name = first, last
            user.save()
        user.groups.add(Group.objects.get_or_create(name=RESEARCHER_GROUP)[0])
        issued = ResearcherToken.issue(user)
        self.stdout.write(
            f"researcher {email}: send 'Authorization: Token {issued}' "
            "(shown once; `crowdray researcher revoke` ends it)"
        )
