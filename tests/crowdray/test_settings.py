"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

KEY = "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
PRODUCTION = {"DATABASE_URL": "postgresql://u@localhost/crowdray", "DEBUG": "false"}


def load_settings(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    environ.update({"CROWDRAY_DATA_DIR": str(tmp_path), **env})
    code = "import crowdray.settings as s; print(s.DATABASES['default']['ENGINE'], s.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )


def test_the_embedded_default_is_sqlite_with_debug_off_and_importing_settings_writes_nothing(
    tmp_path,
):
    data = tmp_path / "data"
    first = load_settings(data)
    assert first.stdout.split() == ["django.db.backends.sqlite3", "False"]
    assert not data.exists()


def test_the_crowdray_command_makes_the_data_folder_and_keeps_its_secret_key(tmp_path):
    data = tmp_path / "data"
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    environ["CROWDRAY_DATA_DIR"] = str(data)
    code = "import crowdray.settings as s; print(s.SECRET_KEY)"
    run = [sys.executable, "-m", "crowdray.cli", "check"]
    subprocess.run(run, env=environ, check=True, capture_output=True, timeout=120)
    key = (data / "secret_key").read_text()
    assert len(key) > 40
    assert (data / "static").is_dir()
    subprocess.run(run, env=environ, check=True, capture_output=True, timeout=120)
    assert (data / "secret_key").read_text() == key
    seen = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert seen.stdout.strip() == key


def test_a_production_database_without_a_secret_key_is_refused(tmp_path):
    result = load_settings(tmp_path, DATABASE_URL="postgresql://u@localhost/crowdray")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_postgres_is_chosen_by_database_url(tmp_path):
    result = load_settings(
        tmp_path, DATABASE_URL="postgresql://u@localhost/crowdray", SECRET_KEY=KEY
    )
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe'"),
        ("CROWDRAY_MAX_BATCH", "lots", "CROWDRAY_MAX_BATCH='lots': expected an integer"),
        ("CROWDRAY_MAX_BATCH", "0", "CROWDRAY_MAX_BATCH=0: must be at least 1"),
        ("CROWDRAY_REGISTER_RATE", "fast", "CROWDRAY_REGISTER_RATE='fast'"),
        ("DATABASE_URL", "nosuch://x", "DATABASE_URL"),
        ("CROWDRAY_LIVE_PART", "4/3", "CROWDRAY_LIVE_PART='4/3': need 1 <= k <= n"),
        ("CROWDRAY_DB_RETENTION_DAYS", "40", "CROWDRAY_DB_RETENTION_DAYS needs PostgreSQL"),
    ],
)
def test_a_bad_value_stops_startup_with_its_name(tmp_path, name, value, message):
    result = load_settings(tmp_path, **{name: value, "SECRET_KEY": KEY})
    assert result.returncode != 0
    assert message in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readers = ["crowdray/settings.py", "crowdray/worker.py"]  # worker.py: before Django starts
    read = {
        name
        for path in readers
        for name in re.findall(r'env_\w+\("([A-Z_]+)"', (root / path).read_text())
    }
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    assert read - listed == set()


@pytest.mark.parametrize("key", ["short-key", "a" * 64])
def test_a_weak_secret_key_stops_production_startup(tmp_path, key):
    result = load_settings(tmp_path, **PRODUCTION, SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 random characters in production" in result.stderr


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    # (The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.)
    dropped = ("DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ |= {
        "CROWDRAY_DATA_DIR": str(tmp_path),
        "SECRET_KEY": KEY,
        "CROWDRAY_HTTPS": "true",
        "CROWDRAY_HSTS_SUBDOMAINS": "true",
        "CROWDRAY_HSTS_PRELOAD": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "crowdray.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-m", "crowdray.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("days", "lake", "message"),
    [
        ("40", "", "needs CROWDRAY_LAKE_DIR"),
        ("30", "lake", "must be at least 31: one day more than uploads may be old"),
    ],
)
def test_a_retention_that_could_drop_what_uploads_still_accept_is_refused(
    tmp_path, days, lake, message
):
    env = {"CROWDRAY_DB_RETENTION_DAYS": days, "CROWDRAY_LAKE_DIR": lake and str(tmp_path / lake)}
    result = load_settings(tmp_path, **PRODUCTION, SECRET_KEY=KEY, **env)
    assert result.returncode != 0
    assert message in result.stderr
    fine = load_settings(
        tmp_path,
        **PRODUCTION,
        SECRET_KEY=KEY,
        CROWDRAY_DB_RETENTION_DAYS="31",
        CROWDRAY_LAKE_DIR=str(tmp_path / "lake"),
    )
    assert fine.returncode == 0, fine.stderr
