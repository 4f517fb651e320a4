"""One-time tokens in paths never reach a log (issue 9, item 6).

An invitation link is `/invite/{token}`: whoever reads the token in a log file
can set the invited person's password and take the account. The access log
writes `/invite/[redacted]` instead, for pages that exist and for mistyped
ones, and the real `carewall serve` process prints nothing else that holds it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.routing import BaseRoute

from carewall.audit import entries_with_action
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import accounts
from carewall.registry import create_app
from carewall.web.openapi import api_routes
from carewall.web.security import REDACTED, SECRET_PATH_PARAMS, redact_path
from tests.support.cli import carewall
from tests.support.factories import PASSWORD, make_admin
from tests.support.server import start_server
from tests.support.signin import csrf, signed_in

# Every path parameter the application has, with why its value may be logged.
# A new parameter must be added here or to `SECRET_PATH_PARAMS`: deciding is the point.
HARMLESS_PATH_PARAMS = {
    "kind": "factor kind (totp, passkey)",
    "factor_id": "random id of a factor row; useless without the owner's session",
    "notice_id": "random id of a notice row",
    "session_id": "row id of a session, not the cookie (which is stored hashed)",
    "token_id": "row id of an API token, not the token (which is stored hashed)",
    "seq": "audit entry number",
    "report_id": "random id of a reported mail",
    "user_id": "random id of an account",
    "action": "name of an admin action",
    "resource_type": "FHIR resource type",
    "logical_id": "random FHIR id",
    "version": "version number",
    "patient_id": "random FHIR Patient id (no identity without the key)",
    "export_id": "random id of a Bulk Data export; useless without its requester's token",
    "file_id": "random id of an export's file; useless without its requester's token",
    "campaign_id": "random id of a simulation campaign",
    "template_id": "name of a simulation template",
    "event_id": "random id of a tracking event (admin re-classification)",
    "group_id": "random id of a staff group",
    "member_id": "random id of a staff directory entry",
    "assignment_id": "random id of a training assignment; useless without a session or link",
    "attempt_id": "random id of a quiz attempt",
    "assessment_id": "random id of a risk assessment",
    "section_id": "name of an assessment section",
    "question_id": "name of an assessment question",
    "attachment_id": "random id of an evidence attachment",
    "risk_id": "random id of a risk register entry",
    "alert_id": "random id of a security alert (admin pages only)",
}
_PARAM = re.compile(r"{([a-zA-Z_]+)(?::[^}]*)?}")


def _params(routes: list[BaseRoute]) -> set[str]:
    found: set[str] = set()
    for route in [*routes, *api_routes(routes)]:
        found.update(_PARAM.findall(str(getattr(route, "path", ""))))
    return found


def test_every_path_parameter_is_declared_secret_or_harmless(runtime: Runtime) -> None:
    params = _params(create_app(runtime).routes)
    assert "token" in params, "the invitation route is still there"
    undecided = params - SECRET_PATH_PARAMS - set(HARMLESS_PATH_PARAMS)
    assert not undecided, f"say whether these path parameters are secrets: {sorted(undecided)}"


def _invite_token(runtime: Runtime, email: str) -> str:
    link = accounts.invite_user(runtime, Caller.cli(), email, "clinician")
    return link.url.rsplit("/", 1)[1]


def test_invitation_token_is_not_in_the_access_log(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    token = _invite_token(runtime, "new@clinic.example")
    used = _invite_token(runtime, "other@clinic.example")
    with TestClient(create_app(runtime)) as client, caplog.at_level(logging.INFO):
        assert client.get(f"/invite/{token}").status_code == 200
        accepted = client.post(
            f"/invite/{used}",
            data={"csrf_token": csrf(client), "password": PASSWORD, "confirm": PASSWORD},
        )
        assert accepted.status_code in {200, 303}
        assert client.get(f"/invite/{used}").status_code == 400  # spent: the error page
        assert client.get(f"/Invite/{token}/extra").status_code == 404  # mistyped
    # Everything the server side logged (the test's own HTTP client logs its URLs).
    client_side = ("httpx", "httpcore", "httpx2")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    assert logged.count(f"/invite/{REDACTED}") >= 3
    assert f"/Invite/{REDACTED}" in logged
    for secret in (token, used, token[:12], used[:12]):
        assert secret not in logged


def test_redaction_keeps_other_paths_whole() -> None:
    prefixes = ("/invite/",)
    assert redact_path("/invite/abc", prefixes) == f"/invite/{REDACTED}"
    assert redact_path("/invite/", prefixes) == "/invite/"
    assert redact_path("/patients/p-1", prefixes) == "/patients/p-1"
    assert redact_path("/account/tokens/t-1/revoke", prefixes) == "/account/tokens/t-1/revoke"


def test_carewall_serve_prints_no_invitation_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"CAREWALL_HOME": str(home), "PATH": "/usr/bin:/bin"}
    added = carewall(env, "user", "add", "nurse@clinic.example", "--role", "clinician")
    assert added.returncode == 0, added.stderr
    match = re.search(r"/invite/([A-Za-z0-9_-]{20,})", added.stdout)
    assert match, added.stdout
    token = match.group(1)
    server = start_server(home)
    try:
        page = httpx.get(f"{server.url}/invite/{token}", timeout=10)
        assert page.status_code == 200
        assert "nurse@clinic.example" in page.text
        assert httpx.get(f"{server.url}/invite/{token}x", timeout=10).status_code == 400
    finally:
        server.stop()
    output = Path(server.log.name).read_text(encoding="utf-8", errors="replace")
    assert f"GET /invite/{REDACTED} 200" in output, output
    assert token not in output
    assert token[:12] not in output


def test_access_log_holds_no_query_string_or_body(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(runtime)) as client, caplog.at_level(logging.INFO):
        client.get("/login?next=query-marker-7c1")
        client.post(
            "/login?probe=query-marker-7c1",
            data={
                "csrf_token": csrf(client),
                "email": "x@example.org",
                "password": "body-marker-93f",
            },
        )
    client_side = ("httpx", "httpcore", "httpx2")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    assert "GET /login 200" in logged
    assert "query-marker-7c1" not in logged
    assert "body-marker-93f" not in logged
    assert "x@example.org" not in logged


def test_a_refused_invitation_post_audits_the_path_without_its_token(
    runtime: Runtime, client: TestClient
) -> None:
    """The audit trail is a log too: a CSRF refusal records the path, never the token."""
    token = _invite_token(runtime, "new@clinic.example")
    refused = client.post(
        f"/invite/{token}",
        data={"csrf_token": "forged", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert refused.status_code == 403
    with runtime.db.sessions() as session:
        entries = entries_with_action(session, ["web:csrf:rejected"])
    assert [e.subject for e in entries] == [f"/invite/{REDACTED}"]
    with runtime.db.engine.connect() as connection:
        bodies = b"".join(connection.execute(text("SELECT body FROM audit_entries")).scalars())
    assert token.encode() not in bodies


def test_a_kept_forms_resume_link_is_not_in_the_access_log(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """`/account/resume/{id}` is used once, like an invitation: cut from the log too."""
    pending = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    with TestClient(create_app(runtime)) as client, caplog.at_level(logging.INFO):
        signed_in(client, runtime, make_admin(runtime))
        assert client.get(f"/account/resume/{pending}").status_code == 404
    client_side = ("httpx", "httpcore", "httpx2")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    assert f"/account/resume/{REDACTED}" in logged
    assert pending not in logged
