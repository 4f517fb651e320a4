"""A single conditional create: `POST /fhir/Type` with `If-None-Exist` (FHIR R4 3.1.0.8.1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.models import FhirResource
from tests.support.factories import FHIR_JSON, bearer, fhir_resource
from tests.support.fhir import outcome

MRN = {"system": "urn:mrn", "value": "CC-1"}
CONDITION = "identifier=urn:mrn|CC-1"


def _patient() -> dict[str, Any]:
    return fhir_resource("Patient", "unused", identifier=[MRN])


def _create(
    client: TestClient, headers: dict[str, str], condition: str, **extra: str
) -> httpx.Response:
    sent = {**headers, "Content-Type": FHIR_JSON, "If-None-Exist": condition, **extra}
    return client.post("/fhir/Patient", json=_patient(), headers=sent)


def _patients(runtime: Runtime) -> int:
    query = select(func.count()).where(FhirResource.resource_type == "Patient")
    with runtime.db.sessions() as session:
        return int(session.scalar(query) or 0)


def test_it_creates_once_then_answers_with_what_exists(
    runtime: Runtime, client: TestClient
) -> None:
    desk = bearer(runtime, Role.FRONT_DESK)
    created = _create(client, desk, CONDITION)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/_history/1")
    found = _create(client, desk, f"Patient?{CONDITION}")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == created.json()["id"]
    assert found.headers["etag"] == created.headers["etag"]
    assert _patients(runtime) == 1
    minimal = _create(client, desk, CONDITION, Prefer="return=minimal")
    assert (minimal.status_code, minimal.content) == (200, b"")
    assert minimal.headers["location"] == created.headers["location"]


def test_several_matches_are_412_and_change_nothing(runtime: Runtime, client: TestClient) -> None:
    desk = bearer(runtime, Role.FRONT_DESK)
    for _ in range(2):  # an unconditional create does not look
        sent = {**desk, "Content-Type": FHIR_JSON}
        assert client.post("/fhir/Patient", json=_patient(), headers=sent).status_code == 201
    body = outcome(_create(client, desk, CONDITION), 412, "multiple-matches")
    assert "more than one Patient" in body["issue"][0]["diagnostics"]
    assert "Bundle" not in str(body), "answered as the single interaction it was"
    assert _patients(runtime) == 2


@pytest.mark.parametrize(
    "condition",
    ["name=ada", "identifier=a&identifier=b", "identifier=", "Observation?identifier=x", ""],
)
def test_a_condition_it_cannot_search_is_400_not_ignored(
    runtime: Runtime, client: TestClient, condition: str
) -> None:
    body = outcome(_create(client, bearer(runtime, Role.FRONT_DESK), condition), 400)
    assert body["issue"][0]["expression"] == ["If-None-Exist"]
    assert _patients(runtime) == 0


def test_its_search_needs_the_read_scope(runtime: Runtime, client: TestClient) -> None:
    writer = bearer(runtime, Role.FRONT_DESK, scopes=("fhir:write",))
    body = outcome(_create(client, writer, CONDITION), 403, "forbidden")
    assert "fhir:read" in body["issue"][0]["diagnostics"]
    assert _patients(runtime) == 0


def test_an_invalid_resource_names_its_own_element(runtime: Runtime, client: TestClient) -> None:
    sent = {**bearer(runtime, Role.FRONT_DESK), "Content-Type": FHIR_JSON}
    sent["If-None-Exist"] = CONDITION
    patient = {**_patient(), "birthDate": "yesterday"}
    refused = client.post("/fhir/Patient", json=patient, headers=sent)
    assert refused.status_code in {400, 422}, refused.text
    expressions = [e for i in refused.json()["issue"] for e in i.get("expression", [])]
    assert expressions
    assert all(e.startswith("Patient") for e in expressions), expressions
    assert _patients(runtime) == 0


def test_the_capability_statement_says_so(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Accept": FHIR_JSON}).json()
    assert all(r["conditionalCreate"] is True for r in statement["rest"][0]["resource"])


def test_an_identifier_that_differs_only_in_case_or_accents_is_another_one(
    runtime: Runtime, client: TestClient
) -> None:
    """`cc-1` and `ÇC-1` are not `CC-1`: FHIR matches identifiers as written, and taking one
    for the other answered a feed with another patient (found by probing from outside)."""
    desk = bearer(runtime, Role.FRONT_DESK)
    first = _create(client, desk, CONDITION)
    assert first.status_code == 201, first.text
    for value in ("cc-1", "ÇC-1", "CC-1 "):
        condition = f"identifier=urn:mrn|{quote(value)}"  # a header is ASCII: percent-encoded
        other = {**desk, "Content-Type": FHIR_JSON, "If-None-Exist": condition}
        patient = fhir_resource("Patient", "unused", identifier=[{**MRN, "value": value.strip()}])
        created = client.post("/fhir/Patient", json=patient, headers=other)
        expected = 200 if value.strip() == MRN["value"] else 201
        assert created.status_code == expected, (value, created.text)
    assert _patients(runtime) == 3
    search = client.get("/fhir/Patient", params={"identifier": "urn:mrn|cc-1"}, headers=desk)
    assert [e["resource"]["identifier"][0]["value"] for e in search.json()["entry"]] == ["cc-1"]
    refused = client.get("/fhir/Patient", params={"identifier:folded": "cc-1"}, headers=desk)
    assert refused.status_code == 400, "the staff search's folded terms are not a FHIR parameter"
