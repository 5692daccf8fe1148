"""What the OpenAPI schema says beyond the views: the Token scheme, problems, live examples.

The schema is the API's contract, and tests/crowdray/test_schema_contract.py
runs schemathesis against a live server to hold the service to it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from api.problems import PROBLEM_JSON
from ingest.serializers import Problem, RejectedBatch
from vocab.units import NS_PER_S

TOKEN = "tokenAuth"  # noqa: S105 - the scheme's name in the schema, not a secret


TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "Token <token>: the word Token, a space, then the token (in Swagger's "
    "Authorize box, type both). Uploads take a device's token (POST /api/v1/devices), "
    "researchers' endpoints a researcher's (crowdray researcher add).",
}
SESSION_SCHEME = {
    "type": "apiKey",
    "in": "cookie",
    "name": "sessionid",
    "description": "a staff session from /admin/login/",
}


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The Token scheme, for views whose security the schema does not state itself."""

    target_class = "ingest.auth.TokenAuthentication"
    name = TOKEN

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return TOKEN_SCHEME


def problems(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Schema responses for these error statuses, all problem+json."""
    described = {
        400: "malformed body or parameters",
        401: "no or unknown credentials",
        403: "these credentials may not do this",
        404: "not found",
        405: "method not allowed",
        410: "the time range reaches days only the lake holds",
        413: "body (decompressed) or batch over the limit",
        415: "unsupported Content-Encoding",
        422: "every item was rejected; nothing was stored",
        429: "throttled; see Retry-After",
        503: "a component is down; nothing was stored; see Retry-After",
    }
    return {
        (code, PROBLEM_JSON): OpenApiResponse(
            response=RejectedBatch if code == 422 else Problem, description=described[code]
        )
        for code in codes
    }


def live_examples(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: the security schemes, and upload examples stamped with the time.

    The server refuses times more than CROWDRAY_MAX_AGE_S old, so a fixed
    example would stop validating; the schema is generated per request.
    """
    now = time.time_ns()
    examples = {
        "HitBatch": {
            "hits": [
                {
                    "seq": 1,
                    "t_ns": now - 2 * NS_PER_S,
                    "t_err_ns": 5_000_000,
                    "lat": 46.2044,
                    "lon": 6.1432,
                    "alt_m": 375.0,
                    "loc_err_m": 12.0,
                    "x": 1021,
                    "y": 388,
                    "value": 212,
                    "n_pixels": 3,
                },
                {"seq": 2, "t_ns": now - NS_PER_S, "lat": 46.2044, "lon": 6.1432},
            ]
        },
        "ExposureBatch": {
            "blocks": [
                {
                    "block_id": str(uuid.UUID(int=now)),
                    "start_ns": now - 600 * NS_PER_S,
                    "end_ns": now,
                    "lat": 46.2044,
                    "lon": 6.1432,
                    "frames": 18_000,
                    "l1_threshold": 40,
                    "l2_threshold": 80,
                    "n_hits": 4,
                },
            ]
        },
    }
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes |= {TOKEN: TOKEN_SCHEME, "cookieAuth": SESSION_SCHEME}
    schemas = result["components"].get("schemas", {})
    for name, example in examples.items():
        if name in schemas:
            schemas[name]["example"] = example
    return result
