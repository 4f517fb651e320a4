"""Interoperability: clients no one here wrote, against a real `carewall serve` process.

The first test speaks plain HTTP (httpx) following FHIR conventions only; the
second uses the `fhirclient` package (SMART on FHIR's Python client) for read
and paged search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fhirclient import client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import apitokens, queries
from carewall.records.bundles.importer import import_file
from tests.support.factories import make_user
from tests.support.fhir import synthea_files
from tests.support.server import LiveServer, start_server

FHIR_JSON = "application/fhir+json"
ALEXIS = "983561b3-02dd-4227-88a7-835827bd9566"  # Patient id in the Alexis Toy Synthea bundle


@dataclass
class Practice:
    """A served practice: the server, a clinician's token and a patient's token."""

    server: LiveServer
    clinician: str
    patient: str

    @property
    def base(self) -> str:
        return f"{self.server.url}/fhir"


def _token(runtime: Runtime, email: str, role: str, patient_id: str | None = None) -> str:
    make_user(runtime, email, role, patient_id=patient_id)
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    assert user_id is not None
    scopes = ["fhir:read", "fhir:write"]
    return apitokens.create_token(runtime, Caller.cli(), user_id, "interop", scopes)[0]


@pytest.fixture
def practice(runtime: Runtime, settings: Settings) -> Iterator[Practice]:
    """One Synthea patient imported, two tokens, and the real server on that data."""
    report = import_file(runtime, Caller.cli("test"), synthea_files(1)[0])
    assert not report.failed, report.error
    clinician = _token(runtime, "doctor@clinic.example", "clinician")
    patient = _token(runtime, "alexis@example.org", "patient", patient_id=ALEXIS)
    env = {"CAREWALL_DATABASE_URL": settings.effective_database_url}
    server = start_server(settings.home, extra_env=env)
    try:
        yield Practice(server, clinician, patient)
    finally:
        server.stop()


def _client(practice: Practice, token: str) -> httpx.Client:
    headers = {"Accept": FHIR_JSON, "Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=practice.base, headers=headers, timeout=30)


def test_plain_http_client_follows_fhir_conventions(practice: Practice) -> None:
    with httpx.Client(timeout=30) as anonymous:
        statement = anonymous.get(f"{practice.base}/metadata", headers={"Accept": FHIR_JSON})
    assert statement.headers["content-type"].startswith(FHIR_JSON)
    assert statement.json()["resourceType"] == "CapabilityStatement"

    with _client(practice, practice.clinician) as fhir:
        found = fhir.get("/Patient", params={"family": "toy", "birthdate": "2018-06-22"}).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [ALEXIS]
        patient = fhir.get(f"/Patient/{ALEXIS}")
        assert patient.json()["name"][0]["family"] == "Toy"

        seen = _all_pages(fhir, "/Observation", {"patient": ALEXIS, "_count": "20"})
        assert len(seen) == 77
        assert len(set(seen)) == 77, "no resource twice across pages"

        created = fhir.post("/Observation", json=_observation(), headers=_json_body())
        assert created.status_code == 201, created.text
        location, tag = created.headers["location"], created.headers["etag"]
        current = fhir.get(location.split("/_history/")[0]).json()
        current["status"] = "amended"
        updated = fhir.put(
            f"/Observation/{current['id']}",
            json=current,
            headers={**_json_body(), "If-Match": tag},
        )
        assert updated.status_code == 200, updated.text
        assert updated.headers["etag"] != tag
        again = fhir.put(
            f"/Observation/{current['id']}",
            json={**current, "status": "cancelled"},
            headers={**_json_body(), "If-Match": tag},
        )
        assert again.status_code == 412
        assert again.json()["resourceType"] == "OperationOutcome"


def test_patient_token_over_http_sees_only_their_record(practice: Practice) -> None:
    with _client(practice, practice.patient) as fhir:
        me = fhir.get(f"/Patient/{ALEXIS}")
        assert me.status_code == 200
        assert fhir.get("/Patient").json()["total"] == 1
        # The directory sits in no compartment and is open to a patient (a read
        # by id already was): their search finds it, and nothing clinical of
        # anyone else's comes with it.
        practitioners = fhir.get("/Practitioner").json()
        assert practitioners["total"] > 0
        assert {e["resource"]["resourceType"] for e in practitioners["entry"]} == {"Practitioner"}
        encounters = fhir.get("/Encounter").json()
        assert encounters["total"] > 0
        subjects = {e["resource"]["subject"]["reference"] for e in encounters["entry"]}
        assert subjects == {f"Patient/{ALEXIS}"}


def _all_pages(fhir: httpx.Client, path: str, params: dict[str, str]) -> list[str]:
    bundle = fhir.get(path, params=params).json()
    total, ids = bundle["total"], []
    while True:
        ids += [entry["resource"]["id"] for entry in bundle.get("entry", [])]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = fhir.get(following[0]).json()
    assert len(ids) == total
    return ids


def _observation() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{ALEXIS}"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }


def _json_body() -> dict[str, str]:
    return {"Content-Type": FHIR_JSON}


def test_fhirclient_reads_and_pages(practice: Practice) -> None:
    smart = client.FHIRClient(settings={"app_id": "carewall-interop", "api_base": practice.base})
    smart.server.session.headers["Authorization"] = f"Bearer {practice.clinician}"
    patient = Patient.read(ALEXIS, smart.server)
    assert patient.name[0].family == "Toy"
    assert patient.birthDate.isostring == "2018-06-22"

    search = Observation.where(struct={"patient": ALEXIS, "_count": "25"})
    observations = list(search.perform_resources_iter(smart.server))
    assert len(observations) == 77
    assert {o.subject.reference for o in observations} == {f"Patient/{ALEXIS}"}
