"""Session-wide test setup, loaded before Django is configured (`-p tests.plugin`).

ELASTICSEARCH_URL, when set, is kept for the search tests (tests/search.py)
and taken out of the environment of every other test.

`--db=postgres` starts a throwaway PostgreSQL and points DATABASE_URL at it
before pytest-django reads the settings; the tests marked `postgres` then run
against it. Outside CI a missing server skips them with the reason; in CI
(CI=true) it is an error.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest

from crowdray.datadir import prepare as prepare_data_dir
from crowdray.testing.postgres import PostgresUnavailableError, ThrowawayPostgres

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_state: dict[str, Any] = {}


def require_or_skip(reason: str) -> None:
    """A component is missing: skip outside CI, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="database for the Django tests: sqlite (default) or a throwaway postgres",
    )


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: Any, args: Any) -> Any:
    os.environ.setdefault("CROWDRAY_DATA_DIR", tempfile.mkdtemp(prefix="crowdray-test-"))
    prepare_data_dir()  # what the crowdray command does before Django starts
    os.environ.pop("DATABASE_URL", None)
    # A real cluster for the search tests only (tests/search.py): no other test indexes.
    for name in ("ELASTICSEARCH_URL", "ELASTICSEARCH_COMPAT"):
        _state[name] = os.environ.pop(name, "")
    if early_config.known_args_namespace.db == "postgres":
        try:
            _state["pg"] = ThrowawayPostgres().start()
            os.environ["DATABASE_URL"] = _state["pg"].url
            os.environ.setdefault(
                "SECRET_KEY", "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
            )
        except PostgresUnavailableError as exc:
            if IN_CI:
                raise pytest.UsageError(f"CI=true but PostgreSQL could not start: {exc}") from exc
            _state["pg_missing"] = str(exc)
    return (yield)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _state.get("pg_missing")
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL unavailable: {reason}"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if "pg" in _state:
        _state.pop("pg").stop()


@pytest.fixture(scope="session")
def on_postgres() -> bool:
    return "pg" in _state


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres_only") and "pg" not in _state:
        pytest.skip("runs only in the PostgreSQL pass (make test runs it with --db=postgres)")
