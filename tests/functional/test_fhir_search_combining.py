"""Repeated search parameters through HTTP: AND across repeats, OR within a comma list.

FHIR R4 (search, "Combining parameters"): `code=a&code=b` finds resources that
match both; `code=a,b` those that match either. Every parameter follows it,
the blind-indexed ones, the compartment, `_id` and the date ranges alike.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.services import create_resource
from tests.support.factories import SYSTEM, bearer, fhir_resource

LOINC = "http://loinc.org"
PULSE = {"system": LOINC, "code": "8867-4"}
WEIGHT = {"system": LOINC, "code": "29463-7"}


@pytest.fixture
def doctor(runtime: Runtime) -> dict[str, str]:
    """p1 has a pulse, a weight and one observation coded as both; p2 a pulse."""
    observations = {
        "both": ("p1", [PULSE, WEIGHT], "2020-03-15"),
        "pulse": ("p1", [PULSE], "2020-06-01"),
        "weight": ("p1", [WEIGHT], "2021-01-10"),
        "pulse-p2": ("p2", [PULSE], "2020-03-15"),
    }
    for logical_id, (patient, codings, when) in observations.items():
        observation = fhir_resource(
            "Observation",
            patient,
            id=logical_id,
            code={"coding": codings},
            identifier=[{"system": "urn:oid:1.2.3", "value": f"ID-{logical_id}"}],
            effectiveDateTime=when,
        )
        create_resource(runtime, SYSTEM, observation)
    return bearer(runtime, Role.CLINICIAN)


def _found(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    response = client.get(f"/fhir/Observation?{query}", headers=headers)
    assert response.status_code == 200, (query, response.text)
    bundle: dict[str, Any] = response.json()
    assert bundle["total"] == len(bundle.get("entry", [])), "total counts the same matches"
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("code=8867-4,29463-7", ["both", "pulse", "pulse-p2", "weight"]),
        ("code=8867-4&code=29463-7", ["both"]),
        ("code=http://loinc.org|8867-4&code=29463-7", ["both"]),
        ("code=8867-4&code=8867-4,29463-7", ["both", "pulse", "pulse-p2"]),
        ("_id=both,pulse", ["both", "pulse"]),
        ("_id=both&_id=pulse", []),
        ("_id=both,pulse&_id=pulse,weight", ["pulse"]),
        ("patient=p1,p2&code=8867-4", ["both", "pulse", "pulse-p2"]),
        ("patient=p1&patient=p2", []),
        ("patient=Patient/p2&subject=p2", ["pulse-p2"]),
        ("identifier=ID-both,ID-weight&identifier=ID-weight", ["weight"]),
        ("date=ge2020-03-15&date=lt2021", ["both", "pulse", "pulse-p2"]),
        ("date=2020-03-15,2021-01-10&date=ge2021", ["weight"]),
        ("date=2020&code=29463-7", ["both"]),
    ],
)
def test_repeats_are_and_commas_are_or(
    client: TestClient, doctor: dict[str, str], query: str, expected: list[str]
) -> None:
    assert _found(client, doctor, query) == expected


def test_a_post_search_combines_the_same_way(client: TestClient, doctor: dict[str, str]) -> None:
    response = client.post(
        "/fhir/Observation/_search",
        content="code=8867-4&code=29463-7",
        headers={**doctor, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert [e["resource"]["id"] for e in response.json()["entry"]] == ["both"]


def test_repeats_hold_on_every_page(client: TestClient, doctor: dict[str, str]) -> None:
    """The page cursor carries the repeats: the next page still asks for both."""
    first = client.get("/fhir/Observation?code=8867-4&code=8867-4,29463-7&_count=1", headers=doctor)
    assert first.status_code == 200, first.text
    seen = [e["resource"]["id"] for e in first.json()["entry"]]
    link = {link["relation"]: link["url"] for link in first.json()["link"]}
    while "next" in link:
        page = client.get(link["next"], headers=doctor)
        assert page.status_code == 200, page.text
        seen += [e["resource"]["id"] for e in page.json()["entry"]]
        link = {link["relation"]: link["url"] for link in page.json()["link"]}
    assert sorted(seen) == ["both", "pulse", "pulse-p2"]


def test_the_capability_statement_says_how_parameters_combine(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    assert "more than once" in rest["documentation"]
    assert "comma" in rest["documentation"]
