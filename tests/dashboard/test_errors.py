"""Not found and server errors: styled pages for people, JSON for API clients."""

from __future__ import annotations

import json

from django.test import Client, RequestFactory

from dashboard.errors import server_error


def test_a_missing_page_gets_the_sites_own_404(db):
    for path in ("/nope/", "/showers/S404/"):
        reply = Client().get(path)
        assert reply.status_code == 404
        page = reply.content.decode()
        assert "Nothing here" in page and 'href="/showers/"' in page and "crowdray" in page


def test_a_missing_api_endpoint_answers_json_not_html(db):
    for method, path in (("get", "/api/"), ("get", "/api/v1/"), ("post", "/api/v1/hits/")):
        reply = getattr(Client(), method)(path)
        assert reply.status_code == 404 and reply["Content-Type"] == "application/problem+json"
        body = json.loads(reply.content)
        assert body["type"] == "/api/problems/not_found" and body["status"] == 404
        assert "/api/docs/" in body["detail"]
    hint = json.loads(Client().post("/api/v1/hits/").content)["detail"]
    assert "without the trailing slash: /api/v1/hits" in hint


def test_a_server_error_gets_a_calm_page_or_json(db):
    page = server_error(RequestFactory().get("/showers/"))
    assert page.status_code == 500 and b"Something went wrong" in page.content
    api = server_error(RequestFactory().post("/api/v1/hits"))
    assert api.status_code == 500 and api["Content-Type"] == "application/problem+json"
    assert json.loads(api.content)["detail"].endswith("nothing is stored twice")
