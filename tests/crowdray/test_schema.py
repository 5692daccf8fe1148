"""/api/schema/ tells app developers the truth: schemes, media types, replies, working examples."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from ingest.models import ExposureBlock, Hit

pytestmark = pytest.mark.django_db
UPLOADS = (("/api/v1/hits", "post"), ("/api/v1/exposures", "post"))


@pytest.fixture
def schema() -> dict[str, Any]:
    reply = APIClient().get("/api/schema/?format=json")
    assert reply.status_code == 200
    return reply.json()


def test_the_token_scheme_is_documented_for_uploads_and_researchers_no_basic_auth(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "basicAuth" not in schema["components"]["securitySchemes"]
    for path, method in UPLOADS:
        assert schema["paths"][path][method]["security"] == [{"tokenAuth": []}], path
    for path in ("/api/v1/hits", "/api/v1/exposures", "/api/v1/showers/{shower_id}/hits"):
        listing = schema["paths"][path]["get"]["security"]
        assert listing == [{"tokenAuth": []}, {"cookieAuth": []}], path


def test_request_bodies_are_json_but_the_crayfis_apps_protobuf(schema):
    for path, ops in schema["paths"].items():
        for op in ops.values():
            if "requestBody" in op:
                wanted = "application/octet-stream" if path == "/submit" else "application/json"
                assert list(op["requestBody"]["content"]) == [wanted], path


def test_errors_and_pages_are_documented(schema):
    hits = schema["paths"]["/api/v1/hits"]["post"]["responses"]
    for status in ("400", "401", "405", "413", "415", "422", "429", "503"):
        assert list(hits[status]["content"]) == ["application/problem+json"], status
    showers = schema["paths"]["/api/v1/showers"]["get"]["responses"]["200"]
    page = showers["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {
        "next",
        "previous",
        "results",
    }
    detail = schema["paths"]["/api/v1/showers/{shower_id}"]["get"]["responses"]["200"]
    assert "application/json" in detail["content"]


def test_the_upload_examples_are_accepted_as_they_are(schema, device_client):
    for path, name in (("/api/v1/hits", "HitBatch"), ("/api/v1/exposures", "ExposureBatch")):
        example = schema["components"]["schemas"][name]["example"]
        reply = device_client.post(path, example, format="json")
        assert reply.status_code == 201, (path, reply.content)
        assert reply.json()["rejected"] == [] and reply.json()["warnings"] == []
    assert Hit.objects.count() == 2 and ExposureBlock.objects.count() == 1


def test_every_problem_type_is_documented():
    for code in ("rejected", "parse_error", "too_large", "throttled", "unavailable"):
        reply = APIClient().get(f"/api/problems/{code}")
        assert reply.status_code == 200 and reply.json()["description"]
    assert APIClient().get("/api/problems/nope").status_code == 404


def test_the_shower_filters_carry_the_bounds_the_server_enforces(schema):
    def parameter(path: str, name: str) -> dict[str, Any]:
        found = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert len(found) == 1, (path, name)
        return found[0]

    for path in ("/api/v1/showers", "/api/v1/showers/search"):
        bounds = parameter(path, "min_devices")["schema"]
        assert (bounds["minimum"], bounds["maximum"]) == (0, 2**31 - 1), path
    page = parameter("/api/v1/showers/search", "page_size")["schema"]
    assert (page["minimum"], page["maximum"]) == (1, 500)
    reply = schema["paths"]["/api/v1/showers/search"]["get"]["responses"]["200"]
    assert set(reply["headers"]["X-Search-Backend"]["schema"]["enum"]) == {
        "elasticsearch",
        "database",
    }
    assert "503" not in schema["paths"]["/api/v1/showers/search"]["get"]["responses"]
