"""The embedded default's data folder: made once by the `crowdray` command, never by settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def data_dir() -> Path:
    """CROWDRAY_DATA_DIR (default ./var), as settings read it."""
    return Path(os.environ.get("CROWDRAY_DATA_DIR", str(Path.cwd() / "var"))).resolve()


def prepare() -> Path:
    """Create the data folder, its static folder and the generated secret key when missing."""
    root = data_dir()
    (root / "static").mkdir(parents=True, exist_ok=True)
    key = root / SECRET_KEY_FILE
    if not key.exists():
        key.write_text(secrets.token_urlsafe(50))
        key.chmod(0o600)
    return root
