"""The admin login locks a username out after repeated wrong passwords from one address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.postgres


def attempt(client: Client, password: str) -> int:
    reply = client.post("/admin/login/?next=/admin/", {"username": "root", "password": password})
    return reply.status_code


def test_five_wrong_passwords_lock_the_account_out_even_for_the_right_one(db, settings):
    User.objects.create_superuser("root", "root@example.org", "right-password-123")
    client = Client(REMOTE_ADDR="192.0.2.50")
    codes = [attempt(client, f"wrong-{k}") for k in range(settings.AXES_FAILURE_LIMIT)]
    assert codes[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with an error
    assert codes[-1] == 429
    assert attempt(client, "right-password-123") == 429


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count(db):
    User.objects.create_superuser("root", "root@example.org", "right-password-123")
    client = Client(REMOTE_ADDR="192.0.2.51")
    assert [attempt(client, "wrong") for _ in range(3)] == [200, 200, 200]
    assert attempt(client, "right-password-123") == 302
