"""Malformed input gets a clear 4xx, never a 500, on both databases.

The attacks: JSON nested deeper than the parser's recursion limit (or deep
enough to exhaust the code walking it), version numbers past 32 and 64 bits in
vread paths and If-Match headers, over-long ids and ids with NUL bytes (which
PostgreSQL cannot even compare), and reported mail whose headers carry
non-UTF-8 bytes or encoded lone surrogates, which used to break the security
officer's queue for every administrator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import apitokens, queries
from carewall.identity.apitokens import SCOPES
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.cli import carewall
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import csrf, post, signed_in

FHIR_JSON = "application/fhir+json"
TRACEBACK = ("Traceback (most recent call last)", 'File "/')
HUGE_VERSIONS = [str(2**31), str(2**63), str(2**64), "9" * 40, "9" * 5000]


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def bearer(runtime: Runtime) -> dict[str, str]:
    """A clinician's token with every scope, and patient p1 in the vault."""
    make_user(runtime, "fuzz@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "fuzz@clinic.example")
    assert user_id is not None
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "t", sorted(SCOPES))
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "p1"))
    return {"Authorization": f"Bearer {secret}"}


def refused_cleanly(response: httpx2.Response, *allowed: int) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if allowed:
        assert response.status_code in allowed, (response.status_code, response.text[:300])
    for marker in TRACEBACK:
        assert marker not in response.text


def answered_cleanly(response: httpx2.Response) -> None:
    """Any answer but a server error (an empty search result, a redirect to a list)."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    for marker in TRACEBACK:
        assert marker not in response.text


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


DEPTHS = [100_000, 5_000, 900, 200]


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_json_is_refused_by_every_fhir_write(
    app_client: TestClient, bearer: dict[str, str], depth: int
) -> None:
    headers = {**bearer, "Content-Type": FHIR_JSON}
    patient = f'{{"resourceType": "Patient", "id": "p1", "extension": {nested(depth)}}}'
    bundle = (
        '{"resourceType": "Bundle", "type": "batch", "entry": [{"resource": '
        f'{patient}, "request": {{"method": "PUT", "url": "Patient/p1"}}}}]}}'
    )
    refused_cleanly(app_client.post("/fhir/Patient", content=patient, headers=headers), 400)
    refused_cleanly(app_client.put("/fhir/Patient/p1", content=patient, headers=headers), 400)
    refused_cleanly(app_client.post("/fhir", content=bundle, headers=headers), 400)
    refused_cleanly(app_client.post("/fhir/", content=nested(depth), headers=headers), 400)


def test_a_key_given_twice_is_refused_not_silently_taken_last(
    app_client: TestClient, bearer: dict[str, str]
) -> None:
    """`{"status": "final", "status": "bogus"}` was stored as "bogus" (found by a helper
    probing the API): FHIR's JSON has each key once, so the write is refused, naming it."""
    headers = {**bearer, "Content-Type": FHIR_JSON}
    patient = '{"resourceType": "Patient", "id": "p1", "gender": "male", "gender": "female"}'
    for response in (
        app_client.post("/fhir/Patient", content=patient, headers=headers),
        app_client.put("/fhir/Patient/p1", content=patient, headers=headers),
        app_client.post(
            "/fhir",
            content='{"resourceType": "Bundle", "type": "batch", "type": "transaction"}',
            headers=headers,
        ),
    ):
        refused_cleanly(response, 400)
        assert "twice in one object" in response.text
    stored = app_client.get("/fhir/Patient/p1", headers=bearer).json()
    assert stored["meta"]["versionId"] == "1", "nothing was written"


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_json_is_refused_by_every_json_api(
    app_client: TestClient, bearer: dict[str, str], depth: int
) -> None:
    raw = f'{{"raw": {nested(depth, chr(34) + "x" + chr(34))}}}'
    analyzed = app_client.post(
        "/api/v1/mail/analyze", content=raw, headers={**bearer, "Content-Type": "application/json"}
    )
    refused_cleanly(analyzed)
    token = {"X-CSRF-Token": csrf(app_client), "Content-Type": "application/json"}
    feedback = f'{{"password": {nested(depth)}}}'
    refused_cleanly(app_client.post("/api/v1/password/feedback", content=feedback, headers=token))
    answer = f'{{"credential": {{"id": "AA", "response": {nested(depth)}}}, "next": "/"}}'
    refused_cleanly(app_client.post("/webauthn/login/verify", content=answer, headers=token))


@pytest.mark.parametrize("version", HUGE_VERSIONS)
def test_versions_past_the_integer_range_are_not_found(
    app_client: TestClient, bearer: dict[str, str], version: str
) -> None:
    refused_cleanly(app_client.get(f"/fhir/Patient/p1/_history/{version}", headers=bearer), 404)
    body = json.dumps(fhir_resource("Patient", "p1"))
    conditional = app_client.put(
        "/fhir/Patient/p1",
        content=body,
        headers={**bearer, "Content-Type": FHIR_JSON, "If-Match": f'W/"{version}"'},
    )
    refused_cleanly(conditional, 412)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": fhir_resource("Patient", "p1"),
                "request": {"method": "PUT", "url": "Patient/p1", "ifMatch": f'W/"{version}"'},
            }
        ],
    }
    in_bundle = app_client.post(
        "/fhir", content=json.dumps(bundle), headers={**bearer, "Content-Type": FHIR_JSON}
    )
    refused_cleanly(in_bundle, 400, 412)


def test_a_huge_page_size_is_clamped(app_client: TestClient, bearer: dict[str, str]) -> None:
    found = app_client.get("/fhir/Patient", params={"_count": "9" * 5000}, headers=bearer)
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 1


BAD_IDS = ["a" * 5000, "a\x00b", "\x00"]


@pytest.mark.parametrize("logical_id", BAD_IDS, ids=["long", "nul", "only-nul"])
def test_impossible_fhir_ids_are_refused_cleanly(
    app_client: TestClient, bearer: dict[str, str], logical_id: str
) -> None:
    quoted = httpx2.URL("/fhir/Patient/").join(logical_id.replace("\x00", "%00")).raw_path
    path = quoted.decode()
    refused_cleanly(app_client.get(path, headers=bearer))
    refused_cleanly(app_client.get(f"{path}/_history", headers=bearer))
    refused_cleanly(app_client.get(f"{path}/_history/1", headers=bearer))
    refused_cleanly(app_client.delete(path, headers=bearer))
    body = json.dumps({**fhir_resource("Patient", "x"), "id": logical_id})
    refused_cleanly(
        app_client.put(path, content=body, headers={**bearer, "Content-Type": FHIR_JSON})
    )
    searched = app_client.get("/fhir/Patient", params={"_id": logical_id}, headers=bearer)
    answered_cleanly(searched)
    if searched.status_code == 200:
        assert searched.json()["total"] == 0
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Patient/{logical_id}"}}],
    }
    answer = app_client.post(
        "/fhir", content=json.dumps(bundle), headers={**bearer, "Content-Type": FHIR_JSON}
    )
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        status = answer.json()["entry"][0]["response"]["status"]
        assert status.startswith("4"), status


WEB_GETS = [
    "/patients/{bad}",
    "/admin/mail-reports/{bad}",
    "/admin/access-flags/{bad}",
    "/admin/users/{bad}/disable",
]
WEB_POSTS = [
    "/admin/users/{bad}/disable",
    "/admin/users/{bad}/reset-mfa",
    "/account/sessions/{bad}/revoke",
    "/account/tokens/{bad}/revoke",
    "/account/notices/{bad}/dismiss",
    "/account/factors/totp/{bad}/delete",
    "/admin/mail-reports/{bad}",
    "/admin/access-flags/{bad}",
]
BAD_PATH_PARTS = ["a" * 5000, "a%00b", "99999999999999999999", str(2**63)]


@pytest.mark.parametrize("bad", BAD_PATH_PARTS, ids=["long", "nul", "huge", "2^63"])
def test_impossible_ids_in_pages_are_refused_cleanly(runtime: Runtime, bad: str) -> None:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as admin:
        signed_in(admin, runtime, make_admin(runtime))
        for template in WEB_GETS:
            answered_cleanly(admin.get(template.format(bad=bad), follow_redirects=False))
        for template in WEB_POSTS:
            answered_cleanly(post(admin, template.format(bad=bad), {"outcome": "safe"}))


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/access-report", {"patient_id": "a\x00b"}),
        ("/admin/access-report/download.csv", {"patient_id": "a\x00b"}),
        (
            "/admin/users",
            {"email": "nurse@clinic.example", "role": "patient", "patient_id": "p" * 90},
        ),
        ("/admin/users", {"email": "nu\x00rse@clinic.example", "role": "clinician"}),
        ("/admin/users", {"email": "nurse@clinic.example", "role": "clinician", "name": "N\x00"}),
        ("/login", {"email": "a\x00@clinic.example", "password": "x" * 20}),
        ("/login", {"email": "a" * 400 + "@clinic.example", "password": "x" * 20}),
    ],
)
def test_form_values_no_database_can_hold_are_refused_cleanly(
    runtime: Runtime, path: str, form: dict[str, str]
) -> None:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as admin:
        signed_in(admin, runtime, make_admin(runtime))
        response = post(admin, path, form, follow_redirects=False)
    assert response.status_code < 500, response.text[:300]


# -- Mail whose headers no text column or page can hold --------------------------------------

EVIL_MAIL = {
    "raw-8bit-from": b"From: <\xff@bank.example>\r\nSubject: hi\r\n\r\nx",
    "raw-8bit-everywhere": (
        b'From: "B\xe4nk \xff" <bank\xfe@b.example>\r\nTo: <\xfe@clinic.example>\r\n'
        b"Reply-To: <x\xff@evil.example>\r\nSubject: Urgent \xed\xa0\x80 \xc3\r\n"
        b"X-Weird: \x80\x81\r\n\r\nverify your password http://198.51.100.7/login"
    ),
    "utf7-lone-surrogate": (
        b"From: =?utf-7?q?+2AA-?= <a@b.example>\r\nSubject: =?utf-7?q?Pay+2AA-now?=\r\n"
        b"Content-Type: text/html; charset=utf-7\r\n\r\n"
        b'<p>Urgent: verify your password +2AA-</p><a href="http://198.51.100.7/x">+2AA-</a>'
    ),
    "unicode-escape-surrogate": (
        b"From: a@b.example\r\nSubject: =?unicode_escape?q?=5Cud800?=\r\n\r\nhello"
    ),
    "nul-bytes": b'From: "A\x00B" <a@b.example>\r\nSubject: hi\x00there\r\n\r\nhel\x00lo',
    "encoded-nul": b"From: a@b.example\r\nSubject: =?utf-8?q?hi=00there?=\r\n\r\nhello",
    "8bit-attachment": (
        b"From: a@b.example\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: application/\xff\xfe\r\n"
        b'Content-Disposition: attachment; filename="inv\xffoice.pdf.exe"\r\n\r\nMZ\r\n--b--\r\n'
    ),
}


@pytest.fixture
def staff(runtime: Runtime) -> Iterator[tuple[TestClient, TestClient]]:
    app = create_app(runtime)
    with (
        TestClient(app, raise_server_exceptions=False) as clinician,
        TestClient(app, raise_server_exceptions=False) as admin,
    ):
        signed_in(clinician, runtime, make_user(runtime, "clin@clinic.example", "clinician"))
        signed_in(admin, runtime, make_admin(runtime))
        yield clinician, admin


@pytest.mark.parametrize("name", sorted(EVIL_MAIL))
def test_a_reported_mail_with_broken_headers_never_breaks_the_triage_queue(
    staff: tuple[TestClient, TestClient], name: str
) -> None:
    clinician, admin = staff
    raw = EVIL_MAIL[name]
    shown = clinician.post(
        "/mail/analyze",
        data={"csrf_token": csrf(clinician)},
        files={"message": ("m.eml", raw, "message/rfc822")},
    )
    assert shown.status_code == 200, shown.text[:300]
    reported = clinician.post(
        "/mail/analyze",
        data={"csrf_token": csrf(clinician), "report": "1"},
        files={"message": ("m.eml", raw, "message/rfc822")},
        follow_redirects=False,
    )
    assert reported.status_code == 303, reported.text[:300]
    assert clinician.get("/mail/reports").status_code == 200
    queue = admin.get("/admin/mail-reports")
    assert queue.status_code == 200, "the queue opens for every admin"
    report_id = queue.text.split('data-report="', 1)[1].split('"', 1)[0]
    assert admin.get(f"/admin/mail-reports/{report_id}").status_code == 200
    decided = post(admin, f"/admin/mail-reports/{report_id}", {"outcome": "confirmed_phish"})
    assert decided.status_code == 200


@pytest.mark.parametrize("name", sorted(EVIL_MAIL))
def test_the_analyzer_api_answers_json_for_broken_headers(
    app_client: TestClient, runtime: Runtime, name: str
) -> None:
    make_user(runtime, "api@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, "api@clinic.example")
    assert user_id is not None
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "t", ["mail:analyze"])
    answer = app_client.post(
        "/api/v1/mail/analyze",
        content=EVIL_MAIL[name],
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"},
    )
    assert answer.status_code == 200, answer.text[:300]
    body: dict[str, Any] = answer.json()
    assert body["verdict"] in {"phishing", "suspicious", "clean"}
    text = json.dumps(body, ensure_ascii=False)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text), "no lone surrogates leak out"


def test_the_cli_prints_json_for_broken_headers(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    for name, raw in EVIL_MAIL.items():
        (folder / f"{name}.eml").write_bytes(raw)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    env["CAREWALL_HOME"] = str(tmp_path / "never-created")
    done = subprocess.run(
        [sys.executable, "-m", "carewall", "mail", "analyze", str(folder), "--json"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in {0, 1}, done.stderr.decode(errors="replace")
    lines = done.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(EVIL_MAIL)
    for line in lines:
        assert json.loads(line)["verdict"] in {"phishing", "suspicious", "clean"}


@pytest.mark.parametrize("depth", [100_000, 500])
def test_the_importer_reports_deeply_nested_files(
    tmp_path: Path, cli_env: dict[str, str], runtime: Runtime, depth: int
) -> None:
    """The same bound for files: a clear failure naming the file, never a traceback."""
    bundle = tmp_path / "deep.json"
    patient = f'{{"resourceType": "Patient", "id": "x", "extension": {nested(depth)}}}'
    bundle.write_text(
        f'{{"resourceType": "Bundle", "type": "transaction", "entry": [{{"resource": {patient}}}]}}'
    )
    done = carewall(cli_env, "records", "import", str(bundle))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nested deeper than" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
