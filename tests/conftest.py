from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import make_device


@pytest.fixture
def client_for(db: None) -> Callable[..., APIClient]:
    """An API client authenticated as a new device (or anonymous with token=None)."""

    def make(token: str | None = "new") -> APIClient:
        client = APIClient()
        if token == "new":
            _, token = make_device()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def device_client(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for()


def post_json(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, body, format="json")
