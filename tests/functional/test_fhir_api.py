"""The FHIR R4 API through HTTP: conformance, versioning, paging, errors and the access matrix."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import MATRIX, SUPPORTED_TYPES, Action
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.records.store.dates import DATE_PARAMS
from carewall.records.store.terms import COMPARTMENT_PARAMS, SEARCH_PARAMS
from tests.support.audit import audit_about
from tests.support.factories import FHIR_JSON, SYSTEM, bearer, fhir_resource, make_resources
from tests.support.fhir import outcome
from tests.support.minimal import minimal_resource

SAMPLE_TYPES = ("Patient", "Observation", "Encounter", "Coverage", "Claim", "Practitioner")


def test_capability_statement_lists_exactly_what_is_supported(client: TestClient) -> None:
    response = client.get("/fhir/metadata", headers={"Accept": FHIR_JSON})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    resources = statement["rest"][0]["resource"]
    assert {r["type"] for r in resources} == SUPPORTED_TYPES
    dates = {name for name, _ in DATE_PARAMS.values()}
    searchable = SEARCH_PARAMS | COMPARTMENT_PARAMS | dates | {"_id", "_lastUpdated"}
    for resource in resources:
        codes = {i["code"] for i in resource["interaction"]}
        assert codes == {
            "read",
            "vread",
            "search-type",
            "create",
            "update",
            "delete",
            "history-instance",
        }
        for param in resource["searchParam"]:
            assert param["name"] in searchable, param
            says = param["documentation"].lower()
            hows = ("exact", "begin with", "sounds alike", "range")
            assert any(how in says for how in hows), param
    patient = next(r for r in resources if r["type"] == "Patient")
    assert {p["name"] for p in patient["searchParam"]} >= {"family", "given", "birthdate"}
    observation = next(r for r in resources if r["type"] == "Observation")
    assert {p["name"] for p in observation["searchParam"]} >= {"patient", "subject", "code"}


def test_create_read_update_delete_with_versions(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    body = fhir_resource("Patient", "ignored-by-create")
    created = client.post("/fhir/Patient", json=body, headers=doctor)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert new_id != "ignored-by-create", "create assigns the id"
    assert created.headers["etag"] == 'W/"1"'
    assert created.headers["location"].endswith(f"/fhir/Patient/{new_id}/_history/1")

    read = client.get(f"/fhir/Patient/{new_id}", headers=doctor)
    assert read.status_code == 200
    assert read.headers["content-type"].startswith(FHIR_JSON)
    assert read.headers["etag"] == 'W/"1"'
    assert read.headers["last-modified"].endswith("GMT")
    assert read.json()["meta"]["versionId"] == "1"

    changed = {**read.json(), "gender": "female"}
    updated = client.put(
        f"/fhir/Patient/{new_id}", json=changed, headers={**doctor, "If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == 'W/"2"'
    assert updated.json()["gender"] == "female"
    stale = client.put(
        f"/fhir/Patient/{new_id}",
        json={**changed, "gender": "male"},
        headers={**doctor, "If-Match": 'W/"1"'},
    )
    outcome(stale, 412, "conflict")
    huge = {**doctor, "If-Match": 'W/"99999999999999999999"'}
    beyond = client.put(f"/fhir/Patient/{new_id}", json=changed, headers=huge)
    said = outcome(beyond, 412, "conflict")["issue"][0]["diagnostics"]
    assert "not at the version If-Match names" in said
    assert "2147483648" not in said, "no clamped number the client never sent"

    assert (
        client.get(f"/fhir/Patient/{new_id}/_history/1", headers=doctor).json().get("gender")
        is None
    )
    deleted = client.delete(f"/fhir/Patient/{new_id}", headers=doctor)
    assert deleted.status_code == 200
    assert deleted.json()["issue"][0]["severity"] == "information"
    outcome(client.get(f"/fhir/Patient/{new_id}", headers=doctor), 410, "deleted")
    outcome(client.get(f"/fhir/Patient/{new_id}/_history/3", headers=doctor), 410, "deleted")
    again = client.delete(f"/fhir/Patient/{new_id}", headers=doctor)  # FHIR: no effect, 200
    assert again.status_code == 200, again.text
    assert "deleted already" in again.json()["issue"][0]["diagnostics"]
    assert again.headers["etag"] == deleted.headers["etag"] == 'W/"3"'
    assert len(audit_about(runtime, f"Patient/{new_id}", {"records:resource:deleted"})) == 1

    history = client.get(f"/fhir/Patient/{new_id}/_history", headers=doctor).json()
    Bundle.model_validate(history)
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT", "POST"]
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']


def test_update_with_a_new_id_creates_and_minimal_return_has_no_body(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    resource = fhir_resource("Observation", "p-a", id="obs-put-1")
    first = client.put("/fhir/Observation/obs-put-1", json=resource, headers=doctor)
    assert first.status_code == 201, first.text
    quiet = client.put(
        "/fhir/Observation/obs-put-1",
        json={**resource, "status": "amended"},
        headers={**doctor, "Prefer": "return=minimal"},
    )
    assert quiet.status_code == 200
    assert quiet.content == b""
    assert quiet.headers["etag"] == 'W/"2"'


def test_search_pages_through_next_links(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    make_resources(runtime, "p-a", ("Patient",))
    made = {make_resources(runtime, "p-a", ("Observation",))["Observation"] for _ in range(7)}
    make_resources(runtime, "p-b", ("Observation",))
    first = client.get(
        "/fhir/Observation", params={"patient": "p-a", "_count": "3"}, headers=doctor
    )
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith(FHIR_JSON)
    bundle = first.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 7
    seen, pages = [], 0
    while True:
        pages += 1
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert "self" in links
        if "next" not in links:
            break
        assert "_cursor=" in links["next"]
        assert "patient" not in links["next"], "search values stay out of next links"
        bundle = client.get(links["next"], headers=doctor).json()
    assert pages == 3
    assert sorted(seen) == sorted(made)

    zero = client.get("/fhir/Observation?patient=p-a&_count=0", headers=doctor).json()
    assert zero["total"] == 7
    assert zero["entry"] == []


def test_search_parameters_match_normalised_values_names_by_prefix(
    runtime: Runtime, client: TestClient
) -> None:
    desk = bearer(runtime, Role.FRONT_DESK)
    create_resource(
        runtime,
        SYSTEM,
        fhir_resource(
            "Patient",
            "p-s",
            identifier=[{"system": "urn:mrn", "value": "MRN-42"}],
            name=[{"family": "Müller", "given": ["Anna"]}],
        ),
    )
    make_resources(runtime, "p-other", ("Patient",))

    def ids(query: str) -> list[str]:
        response = client.get(f"/fhir/Patient?{query}", headers=desk)
        assert response.status_code == 200, response.text
        return [e["resource"]["id"] for e in response.json()["entry"]]

    assert ids("family=muller&birthdate=1970-01-02") == ["p-s"]
    assert ids("name=ANNA") == ["p-s"]
    assert ids("identifier=urn:mrn|MRN-42") == ["p-s"]
    assert ids("identifier=urn:mrn|mrn-42") == [], "an identifier matches as written (FHIR)"
    assert ids("_id=p-s,p-other") == ["p-other", "p-s"]
    assert ids("family=mull") == ["p-s"], "a name matches by its beginning (FHIR strings)"
    assert ids("name=an") == ["p-s"]
    assert ids("family:exact=mull") == []
    assert ids("family:exact=MÜLLER") == ["p-s"]
    assert ids("phonetic=mueller") == ["p-s"], "Soundex: Müller, Mueller and Miller sound alike"
    assert ids("phonetic=miller") == ["p-s"]
    assert ids("phonetic=maier") == []
    assert ids("given=ann&family=mu") == ["p-s"]
    assert ids("given=anne") == []
    body = outcome(client.get("/fhir/Patient?family=m", headers=desk), 400, "value")
    assert "at least 2 letters" in str(body)


def test_search_by_post_keeps_values_out_of_the_url(runtime: Runtime, client: TestClient) -> None:
    desk = bearer(runtime, Role.FRONT_DESK)
    make_resources(runtime, "p-s", ("Patient",))
    found = client.post("/fhir/Patient/_search", data={"family": "zebedee"}, headers=desk)
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 1


def test_unsupported_search_parameters_are_refused(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    for query, at in [
        ("Patient?foo=1", "foo"),
        ("Patient?family:contains=ze", "family:contains"),
        ("Patient?birthdate:exact=1970-01-02", "birthdate:exact"),
        ("Observation?birthdate=1970-01-02", "birthdate"),
        ("Patient?_sort=family", "_sort"),
        ("Observation?_count=many", "_count"),
    ]:
        body = outcome(
            client.get(f"/fhir/{query}", headers=doctor),
            400,
            "not-supported" if at not in {"_count"} else "value",
        )
        assert body["issue"][0]["expression"] == [at]
    outcome(client.get("/fhir/Observation?_cursor=bogus", headers=doctor), 400, "invalid")


def test_a_cursor_only_works_for_whoever_searched(runtime: Runtime, client: TestClient) -> None:
    doctor, other = bearer(runtime, Role.CLINICIAN), bearer(runtime, Role.BILLING)
    for _ in range(3):
        make_resources(runtime, "p-a", ("Encounter",))
    page = client.get("/fhir/Encounter?_count=1", headers=doctor).json()
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert client.get(next_url, headers=doctor).status_code == 200
    outcome(client.get(next_url, headers=other), 400, "invalid")


def test_bad_requests_get_operation_outcomes(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    invalid = {"resourceType": "Patient", "birthDate": "yesterday-ish"}
    body = outcome(client.post("/fhir/Patient", json=invalid, headers=doctor), 422, "value")
    assert any("birthDate" in e for i in body["issue"] for e in i["expression"])
    assert "yesterday-ish" not in str(body), "no submitted values in errors"
    outcome(
        client.post("/fhir/Patient", json={"resourceType": "Observation"}, headers=doctor),
        400,
        "value",
    )
    not_json = {**doctor, "Content-Type": FHIR_JSON}
    outcome(client.post("/fhir/Patient", content=b"{nope", headers=not_json), 400, "structure")
    as_text = {**doctor, "Content-Type": "text/plain"}
    outcome(client.post("/fhir/Patient", content=b"{}", headers=as_text), 415, "not-supported")
    huge = {"resourceType": "Patient", "text": {"div": "x" * (9 * 1024 * 1024)}}  # > body limit
    outcome(client.post("/fhir/Patient", json=huge, headers=doctor), 413, "too-costly")
    outcome(client.get("/fhir/Spaceship/1", headers=doctor), 404, "not-found")
    outcome(client.get("/fhir/Patient/nobody", headers=doctor), 404, "not-found")
    outcome(client.get("/fhir/Patient/nobody/_history/x", headers=doctor), 404, "not-found")
    outcome(client.get("/fhir/Patient?_format=xml", headers=doctor), 406, "not-supported")
    outcome(
        client.put("/fhir/Patient/a", json=fhir_resource("Patient", "b"), headers=doctor),
        400,
        "value",
    )
    bad_match = {**doctor, "If-Match": "yesterday"}
    outcome(
        client.put("/fhir/Patient/b", json=fhir_resource("Patient", "b"), headers=bad_match),
        400,
        "value",
    )
    outcome(
        client.get("/fhir/Patient/b", headers={**doctor, "X-Purpose-Of-Use": "FUN"}), 400, "value"
    )


def test_authentication_and_scopes(runtime: Runtime, client: TestClient) -> None:
    ids = make_resources(runtime, "p-a", ("Patient",))
    anonymous = client.get(f"/fhir/Patient/{ids['Patient']}")
    outcome(anonymous, 401, "login")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    outcome(client.get("/fhir/Patient", headers={"Authorization": "Bearer cw_wrong"}), 401, "login")
    # A write with neither token nor session is unauthenticated, as a read is (RFC 6750).
    tokenless = client.post("/fhir/Patient", json=fhir_resource("Patient", "x"))
    outcome(tokenless, 401, "login")
    assert tokenless.headers["www-authenticate"].startswith("Bearer")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": []}
    outcome(client.post("/fhir", json=bundle), 401, "login")
    reader = bearer(runtime, Role.CLINICIAN, scopes=("fhir:read",))
    assert client.get(f"/fhir/Patient/{ids['Patient']}", headers=reader).status_code == 200
    outcome(
        client.post("/fhir/Patient", json=fhir_resource("Patient", "x"), headers=reader),
        403,
        "forbidden",
    )
    outcome(client.delete(f"/fhir/Patient/{ids['Patient']}", headers=reader), 403, "forbidden")
    other_api = bearer(runtime, Role.FRONT_DESK, scopes=("api:read",))
    outcome(client.get(f"/fhir/Patient/{ids['Patient']}", headers=other_api), 403, "forbidden")


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.PATIENT])
def test_staff_roles_reach_what_the_matrix_says(
    runtime: Runtime, client: TestClient, role: Role
) -> None:
    ids = make_resources(runtime, "p-m", SAMPLE_TYPES)
    headers = bearer(runtime, role)
    for resource_type in SAMPLE_TYPES:
        may_read = resource_type in MATRIX[role][Action.READ]
        may_write = resource_type in MATRIX[role][Action.WRITE]
        read_status = 200 if may_read else 403
        logical_id = ids[resource_type]
        reads = [
            client.get(f"/fhir/{resource_type}/{logical_id}", headers=headers),
            client.get(f"/fhir/{resource_type}/{logical_id}/_history/1", headers=headers),
            client.get(f"/fhir/{resource_type}/{logical_id}/_history", headers=headers),
            client.get(f"/fhir/{resource_type}?_id={logical_id}", headers=headers),
        ]
        for response in reads:
            assert response.status_code == read_status, (role, resource_type, response.text)
            if not may_read:
                outcome(response, 403, "forbidden")
        created = client.post(
            f"/fhir/{resource_type}", json=fhir_resource(resource_type, "p-m"), headers=headers
        )
        assert created.status_code == (201 if may_write else 403), (role, resource_type)
        deleted = client.delete(f"/fhir/{resource_type}/{logical_id}", headers=headers)
        assert deleted.status_code == (200 if may_write else 403), (role, resource_type)


def test_patient_reaches_only_their_own_compartment(runtime: Runtime, client: TestClient) -> None:
    clinical = tuple(sorted(SUPPORTED_TYPES - {"Practitioner", "Organization"}))
    mine, theirs = (
        make_resources(runtime, "p-a", clinical),
        make_resources(runtime, "p-b", clinical),
    )
    alice = bearer(runtime, Role.PATIENT, patient_id="p-a")
    for resource_type in clinical:
        own, other = mine[resource_type], theirs[resource_type]
        assert client.get(f"/fhir/{resource_type}/{own}", headers=alice).status_code == 200
        missing = client.get(f"/fhir/{resource_type}/no-such-id", headers=alice).json()
        for path in (f"{other}", f"{other}/_history", f"{other}/_history/1"):
            guessed = client.get(f"/fhir/{resource_type}/{path}", headers=alice)
            body = outcome(guessed, 404, "not-found")
            if path == other:  # the same answer as for an id that does not exist
                assert body["issue"][0]["diagnostics"].replace(other, "X") == missing["issue"][0][
                    "diagnostics"
                ].replace("no-such-id", "X")
        queries_ = [f"_id={other}", "patient=p-b", "patient=Patient/p-b", "subject=p-b"]
        if resource_type == "Patient":
            queries_ = [f"_id={other}", "family=zebedee&birthdate=1970-01-02"]
        for query in queries_:
            found = client.get(f"/fhir/{resource_type}?{query}", headers=alice)
            assert found.status_code == 200, (resource_type, query, found.text)
            assert {e["resource"]["id"] for e in found.json()["entry"]} <= {own}
        everything = client.get(f"/fhir/{resource_type}", headers=alice).json()
        assert [e["resource"]["id"] for e in everything["entry"]] == [own]
        write = client.put(
            f"/fhir/{resource_type}/{other}",
            json=fhir_resource(resource_type, "p-b", id=other),
            headers=alice,
        )
        assert write.status_code in {403, 404}, (resource_type, write.status_code)
        assert client.delete(f"/fhir/{resource_type}/{other}", headers=alice).status_code in {
            403,
            404,
        }


def test_a_patient_writing_in_their_own_compartment_is_told_their_role_may_not(
    runtime: Runtime, client: TestClient
) -> None:
    """403 with the reason, not "not found": it is their own record, nothing to hide."""
    mine = make_resources(runtime, "p-w", ("Patient",))
    alice = bearer(runtime, Role.PATIENT, patient_id="p-w")
    own = client.get(f"/fhir/Patient/{mine['Patient']}", headers=alice).json()
    body = outcome(client.put(f"/fhir/Patient/{own['id']}", json=own, headers=alice), 403)
    assert "may not write Patient" in body["issue"][0]["diagnostics"]
    new = fhir_resource("Observation", "p-w")
    body = outcome(client.post("/fhir/Observation", json=new, headers=alice), 403)
    assert "may not write Observation" in body["issue"][0]["diagnostics"]
    assert client.get("/fhir/Observation", headers=alice).json()["total"] == 0


def test_a_patient_writing_anywhere_gets_one_answer_whether_the_id_exists_or_not(
    runtime: Runtime, client: TestClient
) -> None:
    """A PUT onto another patient's Observation answered 404 and onto a new id 403: a
    patient told ids that exist in other records from ids that do not (found by a helper
    probing the API). A role that may not write a type is told so, whatever the id."""
    theirs = make_resources(runtime, "p-x", ("Patient", "Observation"))
    make_resources(runtime, "p-w", ("Patient",))
    alice = bearer(runtime, Role.PATIENT, patient_id="p-w")
    for logical_id in (theirs["Observation"], "no-such-id"):
        body = fhir_resource("Observation", "p-w", id=logical_id)
        answer = outcome(
            client.put(f"/fhir/Observation/{logical_id}", json=body, headers=alice), 403
        )
        assert "may not write Observation" in answer["issue"][0]["diagnostics"]
    created = outcome(
        client.post("/fhir/Patient", json=fhir_resource("Patient", ""), headers=alice), 403
    )
    assert "may not write Patient" in created["issue"][0]["diagnostics"]
    reader = bearer(runtime, Role.CLINICIAN)
    stored = client.get(f"/fhir/Observation/{theirs['Observation']}", headers=reader).json()
    assert stored["meta"]["versionId"] == "1", "nothing was written"


def test_a_patient_finds_the_directory_by_search_as_by_read(
    runtime: Runtime, client: TestClient
) -> None:
    """Practitioners are in no compartment: a patient reads one by id, and finds it too."""
    make_resources(runtime, "p-d", ("Patient",))
    doctor = fhir_resource("Practitioner", "", id="dr-who")
    create_resource(runtime, SYSTEM, doctor)
    alice = bearer(runtime, Role.PATIENT, patient_id="p-d")
    assert client.get("/fhir/Practitioner/dr-who", headers=alice).status_code == 200
    for query in ("", "?_id=dr-who", f"?name={doctor['name'][0]['family']}"):
        found = client.get(f"/fhir/Practitioner{query}", headers=alice).json()
        assert [e["resource"]["id"] for e in found["entry"]] == ["dr-who"], query
        assert found["total"] == 1
    mine = client.get("/fhir/Patient", headers=alice).json()  # the own compartment still
    assert [e["resource"]["id"] for e in mine["entry"]] == ["p-d"]


def test_a_patient_opens_the_drug_their_prescription_names(
    runtime: Runtime, client: TestClient
) -> None:
    """A formulary Medication is in no compartment: the patient reads it by id, through
    `_include`, and by search; one filed in another patient's compartment stays hidden."""
    make_resources(runtime, "p-m", ("Patient",))
    drug = {**minimal_resource("Medication", "p-m"), "id": "amoxicillin"}
    del drug["extension"]  # the formulary's entry: in no compartment
    create_resource(runtime, SYSTEM, drug)
    compounded = {**minimal_resource("Medication", "p-other"), "id": "their-compound"}
    create_resource(runtime, SYSTEM, compounded)
    prescription = {
        **minimal_resource("MedicationRequest", "p-m"),
        "id": "rx-1",
        "medicationReference": {"reference": "Medication/amoxicillin"},
    }
    prescription.pop("medicationCodeableConcept", None)
    create_resource(runtime, SYSTEM, prescription)
    alice = bearer(runtime, Role.PATIENT, patient_id="p-m")
    assert client.get("/fhir/Medication/amoxicillin", headers=alice).status_code == 200
    outcome(client.get("/fhir/Medication/their-compound", headers=alice), 404)
    included = client.get(
        "/fhir/MedicationRequest",
        params={"_include": "MedicationRequest:medication"},
        headers=alice,
    ).json()
    ids = [(e["resource"]["id"], e["search"]["mode"]) for e in included["entry"]]
    assert ids == [("rx-1", "match"), ("amoxicillin", "include")]
    found = client.get("/fhir/Medication", headers=alice).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["amoxicillin"]
    changed = {**drug, "status": "inactive"}
    put = client.put("/fhir/Medication/amoxicillin", json=changed, headers=alice)
    assert put.status_code == 403


def test_restricted_records_need_break_glass(runtime: Runtime, client: TestClient) -> None:
    ids = make_resources(runtime, "p-vip", ("Patient", "Observation"))
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    doctor = bearer(runtime, Role.CLINICIAN)
    body = outcome(
        client.get(f"/fhir/Observation/{ids['Observation']}", headers=doctor), 403, "forbidden"
    )
    assert "break-glass" in body["issue"][0]["diagnostics"]
    assert client.get("/fhir/Patient?_id=p-vip", headers=doctor).json()["total"] == 0
