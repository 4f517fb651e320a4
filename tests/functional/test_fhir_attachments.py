"""Attachments through the FHIR API and the importer: encrypted at rest, size-limited."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import apitokens, queries
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.bundles.importer import import_file
from carewall.registry import create_app
from carewall.web.fhir.inputs import max_body_bytes
from tests.support.cli import carewall
from tests.support.factories import fhir_resource, make_user
from tests.support.fhir import assert_absent_from_vault

FHIR_JSON = "application/fhir+json"
SMALL = 64 * 1024


def _doctor(runtime: Runtime) -> dict[str, str]:
    make_user(runtime, "doc@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, "doc@clinic.example")
    assert uid is not None
    secret, _ = apitokens.create_token(runtime, Caller.cli(), uid, "t", ["fhir:read", "fhir:write"])
    return {"Authorization": f"Bearer {secret}", "Accept": FHIR_JSON}


def _document(patient_id: str, data: bytes, **attachment: Any) -> dict[str, Any]:
    content = {"contentType": "application/pdf", "data": base64.b64encode(data).decode()}
    return fhir_resource(
        "DocumentReference", patient_id, content=[{"attachment": content | attachment}]
    )


def _issue(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    return issue


@pytest.fixture
def small(settings: Settings) -> Any:
    runtime = open_runtime(settings.model_copy(update={"max_attachment_bytes": SMALL}))
    yield runtime
    runtime.close()


def test_documents_up_to_the_limit_are_stored_encrypted_and_bigger_refused(small: Runtime) -> None:
    data = os.urandom(SMALL)
    with TestClient(create_app(small)) as api:
        headers = _doctor(small)
        api.post("/fhir/Patient", json=fhir_resource("Patient", "pa"), headers=headers)
        exact = _document(
            "pa",
            data,
            size=len(data),
            hash=base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode(),
        )
        created = api.post("/fhir/DocumentReference", json=exact, headers=headers)
        assert created.status_code == 201, created.text[:500]
        doc_id = created.json()["id"]
        stored = get_record_for(small, Caller.cli(), "DocumentReference", doc_id, Purpose.TREATMENT)
        assert base64.b64decode(stored["content"][0]["attachment"]["data"]) == data
        with small.db.engine.connect() as connection:
            assert_absent_from_vault(connection, [exact["content"][0]["attachment"]["data"][:64]])

        bigger = _document("pa", data + b"!")
        issue = _issue(api.post("/fhir/DocumentReference", json=bigger, headers=headers), 413)
        assert issue["code"] == "too-long"
        assert issue["expression"] == ["DocumentReference.content[0].attachment.data"]

        report = fhir_resource(
            "DiagnosticReport", "pa", presentedForm=[{"data": base64.b64encode(data * 2).decode()}]
        )
        issue = _issue(api.post("/fhir/DiagnosticReport", json=report, headers=headers), 413)
        assert issue["expression"] == ["DiagnosticReport.presentedForm[0].data"]

        lying = _document("pa", b"letter", size=999)
        updated = api.put(
            f"/fhir/DocumentReference/{doc_id}", json={**lying, "id": doc_id}, headers=headers
        )
        issue = _issue(updated, 422)
        assert issue["expression"] == ["DocumentReference.content[0].attachment.size"]


def test_the_body_limit_fits_a_largest_attachment_and_no_more(runtime: Runtime) -> None:
    """At the default setting (5 MiB) a maximum-size document goes through HTTP."""
    limit = runtime.settings.max_attachment_bytes
    with TestClient(create_app(runtime)) as api:
        headers = _doctor(runtime)
        document = _document("pa", os.urandom(limit))
        body = json.dumps(document).encode()
        assert len(body) < max_body_bytes(limit)
        sent = {**headers, "Content-Type": FHIR_JSON}
        created = api.post("/fhir/DocumentReference", content=body, headers=sent)
        assert created.status_code == 201, created.text[:500]
        padded = body[:-1] + b" " * (max_body_bytes(limit) - len(body) + 1) + b"}"
        issue = _issue(api.post("/fhir/DocumentReference", content=padded, headers=sent), 413)
        assert issue["code"] == "too-costly"


def test_import_reports_an_oversized_attachment_as_invalid(small: Runtime, tmp_path: Path) -> None:
    patient = fhir_resource("Patient", "pi")
    document = _document("pi", b"x" * (SMALL + 1))
    path = _bundle(tmp_path, [patient, document])
    report = import_file(small, Caller.cli(), path)
    assert report.failed
    assert "entry[1].DocumentReference.content[0].attachment.data" in (report.error or "")
    assert report.created == 0


def test_cli_import_uses_the_configured_limit(tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = _bundle(tmp_path, [fhir_resource("Patient", "pc"), _document("pc", b"y" * 4096)])
    env = {**cli_env, "CAREWALL_MAX_ATTACHMENT_BYTES": "2048"}
    refused = carewall(env, "records", "import", str(path))
    assert refused.returncode == 1
    assert "DocumentReference.content[0].attachment.data" in refused.stderr
    cells = [c.strip() for c in refused.stdout.splitlines()[-2].split("│")[1:-1]]
    assert cells[:5] == ["1", "0", "0", "0", "1"], "files, imported, ..., invalid files"
    accepted = carewall(cli_env, "records", "import", str(path))
    assert accepted.returncode == 0, accepted.stderr


def _bundle(tmp_path: Path, resources: list[dict[str, Any]]) -> Path:
    entries = [
        {
            "fullUrl": f"urn:uuid:{r['id']}",
            "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        for r in resources
    ]
    path = tmp_path / "bundle.json"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    path.write_text(json.dumps(bundle))
    return path
