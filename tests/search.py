"""The search server of the search tests: osmem-server, or the cluster in ELASTICSEARCH_URL.

osmem-server (PyPI) is an in-memory OpenSearch-compatible server: one process
per test session, and a fresh empty clone of it per test. With
ELASTICSEARCH_URL set when pytest starts, the tests use that cluster instead
and delete its crowdray-* indices and templates before each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingest import es
from tests.plugin import _state, require_or_skip


@pytest.fixture(scope="session")
def search_server() -> Iterator[Any]:
    """The osmem server process, or None when an external cluster is given."""
    if _state.get("ELASTICSEARCH_URL"):
        yield None
        return
    try:
        from osmem_server import OsmemServer  # type: ignore[import-untyped]  # no type hints

        server = OsmemServer.start(japanese=False)
    except Exception as exc:  # noqa: BLE001 - missing wheel or binary, failed start
        require_or_skip(f"no search server: osmem-server did not start ({exc})")
    yield server
    server.close()


@pytest.fixture
def search_index(search_server: Any, settings: Any) -> Iterator[str]:
    """An empty search server for one test; the settings point at it. Yields its URL."""
    if search_server is None:
        url = _state["ELASTICSEARCH_URL"]
        settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_COMPAT = (
            url,
            _state["ELASTICSEARCH_COMPAT"],
        )
        client = es.client()
        client.options(ignore_status=404).indices.delete(index="crowdray-*")
        for name in ("crowdray-hits", "crowdray-exposures", "crowdray-showers"):
            client.options(ignore_status=404).indices.delete_index_template(name=name)
        yield url
        return
    clone = search_server.clone()
    settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_COMPAT = clone.url, "plain-json"
    yield clone.url
    clone.close()
