"""Result parameters and token forms through HTTP: `_summary=count`, `_elements`,
`system|code`, `|code`, `system|`, and the refusal of anything else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from carewall.audit import AuditEntryView, entries_with_action
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import RecordsTag
from carewall.records.services import create_resource
from carewall.web.fhir.capability import search_params
from tests.support.factories import SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

LOINC = "http://loinc.org"
LOCAL = "urn:oid:1.2.3"


def _ids(bundle: dict[str, Any]) -> list[str]:
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


def _searches(runtime: Runtime) -> list[AuditEntryView]:
    """Search entries, newest first."""
    with runtime.db.sessions() as session:
        return entries_with_action(session, [RecordsTag.SEARCH_PERFORMED])


@pytest.fixture
def doctor(runtime: Runtime) -> dict[str, str]:
    codings = {
        "loinc": [{"system": LOINC, "code": "8867-4"}],
        "local": [{"system": LOCAL, "code": "8867-4"}],
        "bare": [{"code": "8867-4"}],
        "other": [{"system": LOINC, "code": "29463-7"}],
    }
    for name, coding in codings.items():
        resource = fhir_resource(
            "Observation",
            "p1",
            id=f"o-{name}",
            code={"coding": coding},
            identifier=[{"system": LOCAL, "value": f"ID-{name}"}],
            valueQuantity={"value": 72, "unit": "/min"},
            effectiveDateTime="2024-02-03",
        )
        create_resource(runtime, SYSTEM, resource)
    return bearer(runtime, Role.CLINICIAN)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("code=8867-4", ["o-bare", "o-local", "o-loinc"]),
        (f"code={LOINC}|8867-4", ["o-loinc"]),
        ("code=|8867-4", ["o-bare"]),
        (f"code={LOINC}|", ["o-loinc", "o-other"]),
        (f"code={LOCAL}|,|8867-4", ["o-bare", "o-local"]),
        (f"identifier={LOCAL}|", ["o-bare", "o-local", "o-loinc", "o-other"]),
        (f"identifier={LOCAL}|ID-loinc", ["o-loinc"]),
        (f"identifier={LOCAL}|id-loinc", []),  # an identifier matches as written
        ("identifier=|ID-loinc", []),
    ],
)
def test_token_forms(
    client: TestClient, doctor: dict[str, str], query: str, expected: list[str]
) -> None:
    response = client.get(f"/fhir/Observation?{query}", headers=doctor)
    assert response.status_code == 200, response.text
    assert _ids(response.json()) == expected


def test_summary_count_answers_the_total_only(
    runtime: Runtime, client: TestClient, doctor: dict[str, str]
) -> None:
    before = len(_searches(runtime))
    response = client.get(f"/fhir/Observation?code={LOINC}|&_summary=count", headers=doctor)
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 2
    assert "entry" not in bundle
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    searches = _searches(runtime)
    assert len(searches) == before + 1, "a count is a search, and audited as one"
    assert searches[0].details["count"] == 0, "it returned no resource"
    whole = client.get("/fhir/Observation?_summary=false", headers=doctor).json()
    assert len(whole["entry"]) == 4


def test_elements_keeps_what_was_asked_and_says_so(
    client: TestClient, doctor: dict[str, str]
) -> None:
    response = client.get(
        "/fhir/Observation?code=|8867-4&_elements=status,effective,value", headers=doctor
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    resource = bundle["entry"][0]["resource"]
    assert set(resource) == {
        "resourceType",
        "id",
        "meta",
        "status",
        "code",  # mandatory in FHIR: kept so that the resource still validates
        "effectiveDateTime",
        "valueQuantity",
    }
    tags = resource["meta"]["tag"]
    assert {"code": "SUBSETTED"}.items() <= tags[0].items()
    assert tags[0]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
    assert resource["meta"]["versionId"] == "1", "meta is kept, with the tag added"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("value[x]", "`value[x]` is not an element name; use `value` (every type) or a typed "),
        ("effective[x]", "such as effectiveDateTime"),
        ("", "empty element name (an empty list)"),
        ("status,,code", "empty element name (an empty name in the list)"),
        ("status,", "empty element name (an empty name in the list)"),
        ("code.coding", "`code.coding`: only top-level element names are supported (`code`)"),
        ("Observation.status", "give element names without the resource type (`status`)"),
        ("status;code", "element names are letters and digits"),  # not echoed: no name
        ("st@tus", "element names are letters and digits, starting with a letter"),
        (",".join(["status"] * 51), "at most 50 element names (51 given)"),
    ],
)
def test_each_elements_refusal_says_what_is_wrong(
    client: TestClient, doctor: dict[str, str], value: str, problem: str
) -> None:
    for path in ("/fhir/Observation", "/fhir/Observation/o-loinc"):
        response = client.get(path, params={"_elements": value}, headers=doctor)
        body = outcome(response, 400)
        assert body["issue"][0]["expression"] == ["_elements"]
        assert problem in body["issue"][0]["diagnostics"], (path, body)


def test_elements_shapes_a_read_and_a_vread_too(
    runtime: Runtime, client: TestClient, doctor: dict[str, str]
) -> None:
    """FHIR allows `_elements` on read: it keeps what was asked (and what FHIR makes
    mandatory), tagged SUBSETTED, with the version's ETag; a read without it is whole."""
    before = len(_reads(runtime))
    for path in ("/fhir/Observation/o-loinc", "/fhir/Observation/o-loinc/_history/1"):
        response = client.get(f"{path}?_elements=subject", headers=doctor)
        assert response.status_code == 200, response.text
        resource = response.json()
        assert set(resource) == {"resourceType", "id", "meta", "status", "code", "subject"}
        assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"
        assert response.headers["ETag"] == 'W/"1"'
    whole = client.get("/fhir/Observation/o-loinc", headers=doctor).json()
    assert "valueQuantity" in whole
    assert "tag" not in whole["meta"]
    twice = client.get("/fhir/Observation/o-loinc?_elements=status&_elements=code", headers=doctor)
    outcome(twice, 400)
    for query in ("foo=bar", "_summary=true", "_count=1"):  # refused, as a search refuses
        body = outcome(client.get(f"/fhir/Observation/o-loinc?{query}", headers=doctor), 400)
        assert body["issue"][0]["code"] == "not-supported"
    outcome(client.get("/fhir/Observation/o-loinc/_history/1?foo=bar", headers=doctor), 400)
    assert len(_reads(runtime)) == before + 3, "a refused parameter reads (and audits) nothing"
    statement = client.get("/fhir/metadata").json()
    assert "on read and vread alike" in statement["rest"][0]["documentation"]


def _reads(runtime: Runtime) -> list[AuditEntryView]:
    with runtime.db.sessions() as session:
        return entries_with_action(session, [RecordsTag.RESOURCE_READ])


def test_elements_and_sort_follow_the_next_page(client: TestClient, doctor: dict[str, str]) -> None:
    first = client.get("/fhir/Observation?_elements=status&_sort=date&_count=3", headers=doctor)
    following = next(link["url"] for link in first.json()["link"] if link["relation"] == "next")
    assert "_elements" not in following, "the cursor carries it, sealed"
    second = client.get(following, headers=doctor).json()
    assert [set(e["resource"]) for e in second["entry"]] == [
        {"resourceType", "id", "meta", "status", "code"}
    ]


@pytest.mark.parametrize(
    "query",
    [
        "_summary=true",
        "_summary=text",
        "_summary=data",
        "_elements=status;code",
        "_elements=status&_elements=code",
        "_summary=count&_summary=count",
        "_count=1&_count=2",
        "code=",
        "_id=",
        "code=8867-4,",
        "patient= ",
        "_include=*",
        "_include=Observation:performer",
        "_include:iterate=Observation:patient",
        "_revinclude=Observation:nonsense",
        "_contained=true",
        "code:text=pulse",
        "_total=accurate",
        "_has:Observation:patient:code=8867-4",
        "value-quantity=72",
    ],
)
def test_what_it_cannot_honour_is_refused(
    client: TestClient, doctor: dict[str, str], query: str
) -> None:
    """Refused with 400, never ignored, `Prefer: handling=lenient` or not."""
    for prefer in ({}, {"Prefer": "handling=lenient"}, {"Prefer": "handling=strict"}):
        response = client.get(f"/fhir/Observation?{query}", headers={**doctor, **prefer})
        outcome(response, 400)


def test_every_listed_parameter_is_answered(client: TestClient, doctor: dict[str, str]) -> None:
    """Each parameter the CapabilityStatement lists for a type is accepted with a value of
    its type (the statement and the code's tables cannot drift apart)."""
    values = {"date": "ge2020", "token": "x|y", "string": "ab", "reference": "Patient/p1"}
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        listed = {p["name"]: p["type"] for p in resource["searchParam"]}
        assert set(listed) == search_params(resource["type"]), resource["type"]
        for name, kind in listed.items():
            value = "id-1" if name == "_id" else values[kind]
            response = client.get(f"/fhir/{resource['type']}", params={name: value}, headers=doctor)
            assert response.status_code in {200, 403}, (resource["type"], name, response.text)
        for key in ("_include", "_revinclude"):
            listed_includes = resource["searchInclude" if key == "_include" else "searchRevInclude"]
            for include in listed_includes:
                found = client.get(f"/fhir/{resource['type']}?{key}={include}", headers=doctor)
                assert found.status_code in {200, 403}, (resource["type"], include)
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert "Observation:patient" in patient["searchRevInclude"]
