from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import make_device

pytest_plugins = ["tests.search"]


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


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run: local[1], one shuffle partition, no UI."""
    import shutil

    from tests.plugin import require_or_skip

    if not shutil.which("java"):
        require_or_skip("Java is not installed; Spark needs Java 17")
    from coincidence.session import build_session

    session = build_session("local[1]", shuffle_partitions=1, ui=False, adaptive=False)
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Replies and throttle counts are cached per process; no test sees another's."""
    from django.core.cache import cache

    from ingest import throttle

    cache.clear()
    throttle.reset()
