"""The staff access report (HIPAA accounting) for admins and auditors only, with CSV."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import post, signed_in


def _reader(runtime: Runtime) -> None:
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "px"))
    make_user(runtime, "nurse@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, "nurse@clinic.example")
    get_record_for(
        runtime, Caller.for_user(uid, Role.CLINICIAN), "Patient", "px", Purpose.TREATMENT
    )


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_report_lists_accesses_and_downloads_csv(
    runtime: Runtime, client: TestClient, role: str
) -> None:
    _reader(runtime)
    person = make_admin(runtime) if role == "admin" else make_user(runtime, "aud@c.example", role)
    signed_in(client, runtime, person)
    assert client.get("/admin/access-report").status_code == 200
    page = post(client, "/admin/access-report", {"patient_id": "px"})
    assert page.status_code == 200
    assert "nurse@clinic.example" in page.text
    assert "records:resource:read" in page.text
    assert "Your care" in page.text
    assert "to the record of Zebedee, Quill, born 1970-01-02" in page.text, "named, by lookup"
    assert "8867-4" not in page.text, "never record contents"
    csv = post(client, "/admin/access-report/download.csv", {"patient_id": "px"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "clinician" in csv.text
    assert ",TREAT," in csv.text


@pytest.mark.parametrize("role", ["clinician", "patient"])
def test_report_refused_to_other_roles(runtime: Runtime, client: TestClient, role: str) -> None:
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "py"))
    person = make_user(
        runtime, f"{role}@c.example", role, patient_id="py" if role == "patient" else None
    )
    signed_in(client, runtime, person)
    assert client.get("/admin/access-report").status_code == 403
    assert post(client, "/admin/access-report", {"patient_id": "py"}).status_code == 403
