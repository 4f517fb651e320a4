"""The web shell: health, pages, headers, errors and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import Form
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit.models import AuditEntry
from carewall.core.runtime import Runtime
from carewall.registry import create_app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime)

    # Every route gets the CSRF check from the app factory; prove it on a form route.
    @app.post("/_test/form")
    def _form(note: str = Form(...)) -> PlainTextResponse:
        return PlainTextResponse(f"saved {len(note)}")

    with TestClient(app) as test_client:
        yield test_client


def _token(client: TestClient) -> str:
    page = client.get("/").text
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page)
    assert match, "every page carries the CSRF token"
    return match.group(1)


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_and_capability_answer_head_as_monitors_probe(client: TestClient) -> None:
    # RFC 9110: HEAD wherever GET is answered, with GET's headers and no body.
    for path in ("/healthz", "/fhir/metadata"):
        got, head = client.get(path), client.head(path)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["cache-control"] == "no-store", path


def test_home_page_renders_with_security_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Carewall" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # plain HTTP here
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])


def test_hsts_is_sent_when_behind_tls(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"behind_tls": True})
    with TestClient(create_app(runtime)) as tls_client:
        assert "max-age" in tls_client.get("/").headers["strict-transport-security"]


def test_pages_have_no_inline_script(client: TestClient) -> None:
    page = client.get("/").text
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None


def test_unknown_page_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "http_404"


def test_wrong_method_says_which_are_allowed(client: TestClient) -> None:
    # RFC 9110: a 405 carries Allow, on pages, the JSON API and FHIR alike.
    for path in ("/healthz", "/api/v1/me", "/fhir/metadata"):
        response = client.request("TRACE", path)
        assert response.status_code == 405, path
        assert "GET" in response.headers["allow"], path
    # Every method the path takes, not only the first route's whose path matched.
    for method, path, allow in (
        ("PATCH", "/fhir/Patient/x", "GET, PUT, DELETE"),
        ("PUT", "/fhir/Patient", "GET, POST"),
    ):
        response = client.request(method, path)
        assert (response.status_code, response.headers["allow"]) == (405, allow), path


def test_static_assets_are_served_locally(client: TestClient) -> None:
    assert client.get("/static/carewall.css").status_code == 200
    assert client.get("/static/carewall.js").status_code == 200


def test_form_post_without_csrf_token_is_rejected_and_audited(
    client: TestClient, runtime: Runtime
) -> None:
    client.get("/")  # the browser has its CSRF cookie, but the attacker's form has no token
    response = client.post("/_test/form", data={"note": "hello"})
    assert response.status_code == 403
    assert "expired" in response.text
    with runtime.db.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "web:csrf:rejected" in actions


def test_form_post_with_wrong_token_is_rejected(client: TestClient) -> None:
    client.get("/")
    response = client.post("/_test/form", data={"note": "x", "csrf_token": "0" * 64})
    assert response.status_code == 403


def test_form_post_with_token_is_accepted(client: TestClient) -> None:
    token = _token(client)
    response = client.post("/_test/form", data={"note": "hello", "csrf_token": token})
    assert response.status_code == 200
    assert response.text == "saved 5"


def test_token_from_another_browser_is_rejected(client: TestClient, runtime: Runtime) -> None:
    token = _token(client)
    with TestClient(client.app) as other_browser:
        other_browser.get("/")
        response = other_browser.post("/_test/form", data={"note": "x", "csrf_token": token})
    assert response.status_code == 403


def test_missing_form_field_is_a_clear_422(client: TestClient) -> None:
    token = _token(client)
    response = client.post("/_test/form", data={"csrf_token": token})
    assert response.status_code == 422
    assert "note" in response.text


def test_openapi_documents_bearer_tokens_and_their_scopes(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    me = schema["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerToken": ["api:read"]}]
    assert {"401", "403"} <= set(me["responses"])
    feedback = schema["paths"]["/api/v1/password/feedback"]["post"]
    assert "security" not in feedback  # public: the invitation page uses it before sign-in
