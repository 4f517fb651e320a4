"""The analyzer page and API as staff use them: verdict, safe view, access control, audit."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit.models import AuditEntry
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import apitokens
from carewall.identity.queries import user_id_for_email
from carewall.phishing.errors import MAX_MESSAGE_BYTES
from tests.functional.mail_messages import (
    BODY_MARKER,
    PHISH_DEFANGED,
    PHISH_URL,
    clean_eml,
    phishing_eml,
)
from tests.support.clock import FrozenClock
from tests.support.factories import make_user
from tests.support.signin import csrf, signed_in


@pytest.fixture
def clinician(client: TestClient, runtime: Runtime, clock: FrozenClock) -> TestClient:
    signed_in(client, runtime, make_user(runtime, "clin@clinic.example", "clinician"))
    return client


def upload(client: TestClient, raw: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/mail/analyze",
        data={"csrf_token": csrf(client), **fields},
        files={"message": ("suspicious.eml", raw, "message/rfc822")},
    )


def audit_rows(runtime: Runtime, action: str) -> list[AuditEntry]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_upload_shows_verdict_signals_and_a_safe_view(
    clinician: TestClient, runtime: Runtime
) -> None:
    page = upload(clinician, phishing_eml())
    assert page.status_code == 200, page.text
    html = page.text
    assert 'class="badge verdict-phishing' in html
    assert "links.credential_path" in html
    assert "Why it matters" in html
    # The link is visible, defanged and highlighted as evidence, never a live anchor.
    assert f"<mark>{PHISH_DEFANGED}</mark>" in html
    assert not re.search(r"<a [^>]*href=\"?https?://(evil-login|tracker)", html)
    assert "evil-login.example" not in html.replace("evil-login[.]example", "")
    # Nothing active from the message survives: no script, style, form, iframe or image.
    assert "document.location" not in html
    assert html.count("<script") == html.count('<script src="/static/')
    assert "<iframe" not in html
    assert 'action="https://' not in html
    assert '<img src="https' not in html
    assert "image not loaded" in html
    assert "embedded iframe" in html
    assert BODY_MARKER in html
    assert "Report this email to the security officer" in html
    rows = audit_rows(runtime, "phishing:mail:analyzed")
    assert len(rows) == 1
    body = rows[0].body.decode("utf-8", "replace")
    assert '"verdict":"phishing"' in body
    assert "nurse@clinic.example" not in body
    assert BODY_MARKER not in body


def test_pasted_source_works_and_clean_mail_says_so(clinician: TestClient) -> None:
    page = clinician.post(
        "/mail/analyze",
        data={"csrf_token": csrf(clinician), "source": clean_eml().decode()},
        files={"message": ("", b"", "application/octet-stream")},
    )
    assert page.status_code == 200, page.text
    assert "verdict-clean" in page.text
    assert "Staff meeting moved to Thursday" in page.text


def test_empty_and_oversized_uploads_get_clear_errors(clinician: TestClient) -> None:
    empty = upload(clinician, b"")
    assert empty.status_code == 422
    assert "Choose an .eml file" in empty.text
    big = upload(clinician, b"Subject: big\r\n\r\n" + b"x" * MAX_MESSAGE_BYTES)
    assert big.status_code == 413
    assert "larger than 10 MB" in big.text


def test_anonymous_is_sent_to_sign_in_and_patients_are_refused(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    response = client.get("/mail/analyze", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/mail/analyze"
    signed_in(client, runtime, make_user(runtime, "pat@example.org", "patient", patient_id="p-1"))
    assert client.get("/mail/analyze").status_code == 403
    assert client.get("/mail/reports").status_code == 403
    assert upload(client, phishing_eml()).status_code == 403
    assert "Analyze email" not in client.get("/account/security").text


def test_staff_see_the_nav_link_but_only_admins_see_the_queue(clinician: TestClient) -> None:
    page = clinician.get("/mail/analyze").text
    assert 'href="/mail/analyze"' in page
    assert 'href="/admin/mail-reports"' not in page
    assert clinician.get("/admin/mail-reports").status_code == 403


def _token(runtime: Runtime, email: str, role: str, scopes: list[str]) -> str:
    make_user(runtime, email, role, patient_id="p-2" if role == "patient" else None)
    with runtime.db.sessions() as session:
        user_id = user_id_for_email(session, email)
    assert user_id
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "t", scopes)
    return secret


def test_api_returns_the_verdict_for_raw_and_json_bodies(
    client: TestClient, runtime: Runtime
) -> None:
    token = _token(runtime, "billing@clinic.example", "billing", ["mail:analyze"])
    auth = {"Authorization": f"Bearer {token}"}
    raw = client.post(
        "/api/v1/mail/analyze",
        content=phishing_eml(),
        headers={**auth, "Content-Type": "message/rfc822"},
    )
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert body["verdict"] == "phishing"
    assert body["score"] >= 5
    assert {"id", "weight", "explanation", "evidence"} <= set(body["signals"][0])
    assert any(s["evidence"] == PHISH_URL for s in body["signals"])
    assert body["from"].startswith('"IT Helpdesk"')
    as_json = client.post("/api/v1/mail/analyze", json={"raw": clean_eml().decode()}, headers=auth)
    assert as_json.status_code == 200
    assert as_json.json()["verdict"] == "clean"
    assert len(audit_rows(runtime, "phishing:mail:analyzed")) == 2


def test_api_refuses_without_scope_role_or_token_and_limits_size(
    client: TestClient, runtime: Runtime
) -> None:
    headers = {"Content-Type": "message/rfc822"}
    assert client.post("/api/v1/mail/analyze", content=b"x", headers=headers).status_code in {
        401,
        403,
    }
    no_scope = _token(runtime, "fd@clinic.example", "front_desk", ["api:read"])
    denied = client.post(
        "/api/v1/mail/analyze",
        content=clean_eml(),
        headers={**headers, "Authorization": f"Bearer {no_scope}"},
    )
    assert denied.status_code == 403
    patient = _token(runtime, "pat2@example.org", "patient", ["mail:analyze"])
    refused = client.post(
        "/api/v1/mail/analyze",
        content=clean_eml(),
        headers={**headers, "Authorization": f"Bearer {patient}"},
    )
    assert refused.status_code == 403
    staff = _token(runtime, "clin2@clinic.example", "clinician", ["mail:analyze"])
    big = client.post(
        "/api/v1/mail/analyze",
        content=b"x" * (MAX_MESSAGE_BYTES + 1),
        headers={**headers, "Authorization": f"Bearer {staff}"},
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "message_too_large"
    bad_json = client.post(
        "/api/v1/mail/analyze", json={"nope": 1}, headers={"Authorization": f"Bearer {staff}"}
    )
    assert bad_json.status_code == 422


def test_openapi_documents_the_endpoint(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/mail/analyze"]["post"]
    assert "message/rfc822" in operation["requestBody"]["content"]
    assert "413" in operation["responses"]
    assert "VerdictPublic" in str(operation["responses"]["200"])


def test_a_form_sent_to_the_analyzer_api_from_a_browser_is_refused_not_a_crash(
    clinician: TestClient,
) -> None:
    """The CSRF check reads a form body of a cookie-authenticated request; the API then
    found the stream consumed and answered 500. A form is not a message: 415."""
    raw = clean_eml().decode()
    token = csrf(clinician)
    as_form = clinician.post("/api/v1/mail/analyze", data={"csrf_token": token, "raw": raw})
    assert as_form.status_code == 415, as_form.text
    as_multipart = clinician.post(
        "/api/v1/mail/analyze",
        data={"csrf_token": token},
        files={"message": ("m.eml", raw.encode(), "message/rfc822")},
    )
    assert as_multipart.status_code == 415, as_multipart.text
    headers = {"X-CSRF-Token": token, "Content-Type": "message/rfc822"}
    as_bytes = clinician.post("/api/v1/mail/analyze", content=raw.encode(), headers=headers)
    assert as_bytes.status_code == 200, as_bytes.text
