"""The CRAYFIS app's upload, beside its messages (vocab/crayfis.proto): headers and hash."""

from __future__ import annotations

import base64
import hashlib

PATH = "/submit"
# The headers every upload carries (crowdray also reads App-code and Crayfis-version).
REQUIRED_HEADERS = ("Device-id", "Camera-id", "Run-id", "Hash-code")


def hash_code(salt: str, body: bytes) -> str:
    """The Hash-code of a body: base64 of SHA-256 over the salt's UTF-8 bytes, then the body."""
    return base64.b64encode(hashlib.sha256(salt.encode() + body).digest()).decode()
