"""The Bundle entry limit is a setting: `POST /fhir/` and the CapabilityStatement follow it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.services import create_resource
from tests.support.factories import FHIR_JSON, SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

LIMIT = 10


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """A practice that allows only small Bundles."""
    return Settings(
        home=tmp_path / "home", database_url=database_url, fhir_bundle_max_entries=LIMIT
    )


def _reads(count: int) -> dict[str, Any]:
    entries = [{"request": {"method": "GET", "url": "Patient/p-lim"}}] * count
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def test_a_bundle_over_the_configured_limit_is_refused(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-lim"))
    doctor = bearer(runtime, Role.CLINICIAN)
    done = client.post("/fhir/", json=_reads(LIMIT), headers=doctor)
    assert done.status_code == 200, done.text
    assert [e["response"]["status"] for e in done.json()["entry"]] == ["200 OK"] * LIMIT
    body = outcome(client.post("/fhir/", json=_reads(LIMIT + 1), headers=doctor), 400)
    assert body["issue"][0]["code"] == "too-costly"
    assert body["issue"][0]["expression"] == ["Bundle.entry"]
    assert f"at most {LIMIT} entries" in body["issue"][0]["diagnostics"]


def test_the_capability_statement_states_the_configured_limit(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Accept": FHIR_JSON}).json()
    assert f"at most {LIMIT} entries" in statement["rest"][0]["documentation"]


@pytest.mark.parametrize("value", [0, 9, 1_000_001])
def test_the_limit_has_bounds(tmp_path: Path, value: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(home=tmp_path, fhir_bundle_max_entries=value)
    assert Settings(home=tmp_path).fhir_bundle_max_entries == 5000
