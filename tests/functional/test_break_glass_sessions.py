"""Break-glass opens a restricted record in the browser session that asked, and nowhere else.

Tried as an attacker would: a clinician breaks the glass in the browser, then
reads the restricted record through the FHIR API with their own token, or from
a second browser. And a conditional create (`ifNoneExist`) that matches a
restricted record the caller may not see must neither reveal it nor quietly
make a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.errors import PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import Purpose, RecordsTag
from carewall.records.access import search_for
from carewall.records.access.break_glass import start_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.audit import audit_about
from tests.support.clock import clock_moved
from tests.support.factories import FHIR_JSON, fhir_resource, token_for, token_of
from tests.support.fhir import outcome
from tests.support.signin import finish_mfa, password_step, post_form, sign_in_user

SYSTEM = Caller.cli("test")
EMAIL = "doc@clinic.example"
MRN = {"system": "urn:mrn", "value": "VIP-0001"}


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def vip(runtime: Runtime) -> dict[str, str]:
    """A restricted patient with one Observation; their ids."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "vip", identifier=[MRN]))
    obs = fhir_resource("Observation", "vip")
    create_resource(runtime, SYSTEM, obs)
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    return {"Patient": "vip", "Observation": str(obs["id"])}


@pytest.fixture
def browser(app: FastAPI, runtime: Runtime) -> Iterator[tuple[TestClient, str]]:
    """The clinician signed in in a browser, with their authenticator's secret."""
    with TestClient(app) as client:
        yield client, sign_in_user(client, runtime, EMAIL, "clinician")


def test_a_grant_opens_the_record_only_in_the_browser_session_that_asked(
    app: FastAPI, runtime: Runtime, vip: dict[str, str], browser: tuple[TestClient, str]
) -> None:
    client, secret = browser
    opened = post_form(client, "/patients/vip/break-glass", {"reason": "emergency"})
    assert opened.headers["location"] == "/patients/vip", opened.text
    assert client.get("/patients/vip").status_code == 200
    obs_path = f"/fhir/Observation/{vip['Observation']}"
    in_browser = client.get(obs_path, headers={"Accept": FHIR_JSON})
    assert in_browser.status_code == 200, "the session that broke the glass reads the record"

    token = token_of(runtime, EMAIL)
    body = outcome(app_client(app).get(obs_path, headers=token), 403, "forbidden")
    assert "break-glass" in body["issue"][0]["diagnostics"]
    found = app_client(app).get("/fhir/Observation?patient=vip", headers=token).json()
    assert found["total"] == 0
    history = app_client(app).get(f"{obs_path}/_history", headers=token)
    outcome(history, 403, "forbidden")

    with clock_moved(seconds=31), TestClient(app) as other:  # a fresh code for a second sign-in
        assert password_step(other, EMAIL) == "/login/mfa"
        finish_mfa(other, secret)
        screen = other.get("/patients/vip")
        assert screen.status_code == 403
        assert "Restricted record" in screen.text
        assert "Emergency access active until" not in screen.text
        outcome(other.get(obs_path, headers={"Accept": FHIR_JSON}), 403, "forbidden")
    assert client.get("/patients/vip").status_code == 200, "the first session keeps its grant"


def app_client(app: FastAPI) -> TestClient:
    """A client with no cookies: only the bearer token speaks."""
    return TestClient(app)


def test_a_token_cannot_start_emergency_access(runtime: Runtime, vip: dict[str, str]) -> None:
    token_actor = Caller.for_user("x", Role.CLINICIAN, token_id="t1")
    with pytest.raises(PermissionDeniedError):
        start_break_glass(runtime, token_actor, "vip", "emergency", "")
    with pytest.raises(PermissionDeniedError):
        start_break_glass(runtime, Caller.for_user("x", Role.CLINICIAN), "vip", "other", "")


def _conditional_create(kind: str) -> dict[str, Any]:
    patient = fhir_resource("Patient", "new", identifier=[MRN])
    patient.pop("id")
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": "urn:uuid:5b2c",
                "resource": patient,
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": "identifier=urn:mrn|VIP-0001",
                },
            }
        ],
    }


def _stored_with_mrn(runtime: Runtime) -> int:
    found = search_for(
        runtime, SYSTEM, "Patient", {"identifier": ["urn:mrn|VIP-0001"]}, Purpose.SYSTEM
    )
    return len(found)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN])
def test_a_conditional_create_matching_a_hidden_record_is_refused_not_duplicated(
    app: FastAPI, runtime: Runtime, vip: dict[str, str], role: Role
) -> None:
    headers = token_for(runtime, f"{role}@clinic.example", role)
    api = app_client(app)
    refused = api.post("/fhir", json=_conditional_create("transaction"), headers=headers)
    body = outcome(refused, 403, "forbidden")
    assert body["issue"][0]["expression"] == ["Bundle.entry[0]"]
    assert "VIP-0001" not in refused.text, "the answer names nothing of the hidden record"
    assert "Patient/vip" not in refused.text
    batch = api.post("/fhir", json=_conditional_create("batch"), headers=headers)
    assert batch.status_code == 200, batch.text
    assert batch.json()["entry"][0]["response"]["status"].startswith("403")
    assert _stored_with_mrn(runtime) == 1, "no duplicate of the restricted patient"
    denied = audit_about(runtime, "Patient/vip", [RecordsTag.ACCESS_DENIED])
    assert len(denied) == 2
    assert {d.details["reason"] for d in denied} == {"conditional-match-restricted"}


def test_a_single_conditional_create_matching_a_hidden_record_is_refused(
    app: FastAPI, runtime: Runtime, vip: dict[str, str]
) -> None:
    """The If-None-Exist header of a single create is held to the Bundle's rule."""
    headers = token_for(runtime, "desk@clinic.example", Role.FRONT_DESK)
    patient = fhir_resource("Patient", "new", identifier=[MRN])
    conditional = {**headers, "If-None-Exist": "identifier=urn:mrn|VIP-0001"}
    refused = app_client(app).post("/fhir/Patient", json=patient, headers=conditional)
    outcome(refused, 403, "forbidden")
    assert "Patient/vip" not in refused.text
    assert _stored_with_mrn(runtime) == 1, "no duplicate of the restricted patient"
    denied = audit_about(runtime, "Patient/vip", [RecordsTag.ACCESS_DENIED])
    assert [d.details["reason"] for d in denied] == ["conditional-match-restricted"]
