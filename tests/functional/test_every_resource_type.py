"""Every stored resource type round-trips with the permissions of its category.

For each of the types the vault stores (`SUPPORTED_TYPES`, from the R4B models):
create, read, history, update, search by patient and delete, by every staff role
(allowed or refused exactly as the matrix says) and by patients (their own
compartment only), through `records.access` and `records.services`; and over
the FHIR API with tokens, every type by a role that may write it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, PermissionDeniedError
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role
from carewall.records import SUPPORTED_TYPES, Purpose
from carewall.records.access import get_record_for, history_for, search_for
from carewall.records.access.categories import PUBLIC_TYPES
from carewall.records.access.matrix import Action, allowed
from carewall.records.errors import ResourceGoneError
from carewall.records.services import create_resource, delete_resource, update_resource
from carewall.records.store.resource_types import WITHOUT_IDENTIFIER
from carewall.web.fhir.capability import INTERACTIONS, search_params
from tests.support import postgres
from tests.support.factories import FHIR_JSON, SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome
from tests.support.minimal import minimal_resource

P = Purpose.TREATMENT
STAFF = [role for role in Role if role.is_staff]


def _settings(home: Path, database_url: str) -> Settings:
    """One token changes a resource of every type here, more than the mass-change detector
    lets a person change in a minute (its own tests are in test_alerts.py)."""
    return Settings(home=home, database_url=database_url, alerts_mass_change_limit=1000)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """This module's settings on the parametrised database (see `_settings`)."""
    return _settings(tmp_path / "home", database_url)


@pytest.fixture(scope="module")
def sqlite_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One SQLite runtime that every per-type test shares (see `vault`)."""
    folder = tmp_path_factory.mktemp("every-type")
    opened = open_runtime(_settings(folder / "home", f"sqlite:///{folder / 'carewall.db'}"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def postgresql_vault(
    tmp_path_factory: pytest.TempPathFactory, pg_template: str
) -> Iterator[Runtime]:
    """One PostgreSQL runtime that every per-type test shares (see `vault`)."""
    name = postgres.create_database("cw_test", template=pg_template)
    home = tmp_path_factory.mktemp("every-type") / "home"
    opened = open_runtime(_settings(home, postgres.admin_url(name)))
    yield opened
    opened.close()
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def vault(request: pytest.FixtureRequest) -> Runtime:
    """The runtime this module's per-type tests share on each database.

    A fresh database per type (123 types, twice) cost most of this module's time. The
    tests stay independent: each type names its own patients (`_patients_of`), and a
    search is by type and patient, so no test sees another's resources. One fixture per
    database, looked up by name, keeps both alive whatever order the tests run in
    (pytest-randomly), where one parametrised module fixture would be rebuilt at each
    switch between databases.
    """
    runtime: Runtime = request.getfixturevalue(f"{request.param}_vault")
    return runtime


def _actor(role: Role, patient_id: str | None = None) -> Caller:
    return Caller(ref=f"u-{role}", role=role, patient_id=patient_id, session_id=str(role))


def _expect(may: bool, call: Callable[[], Any], refusal: type[Exception]) -> Any:
    if may:
        return call()
    with pytest.raises(refusal):
        call()
    return None


@pytest.mark.parametrize("resource_type", sorted(SUPPORTED_TYPES))
def test_every_type_round_trips_with_its_roles_and_compartment(
    vault: Runtime, resource_type: str
) -> None:
    mine, theirs = _patients_of(resource_type)
    body = _named(resource_type, mine)
    if resource_type != "Patient":
        create_resource(vault, SYSTEM, fhir_resource("Patient", mine))
    for role in STAFF:
        _check_create(vault, _actor(role), resource_type, mine)
    create_resource(vault, SYSTEM, body)
    for role in STAFF:
        _check_stored(vault, _actor(role), body, mine)
    _patients_see_only_their_own(vault, resource_type, body["id"], mine, theirs)
    delete_resource(vault, SYSTEM, resource_type, body["id"])
    with pytest.raises(ResourceGoneError):
        get_record_for(vault, SYSTEM, resource_type, body["id"], P)


def _patients_of(resource_type: str) -> tuple[str, str]:
    """This type's patient, and another one: ids no other test in the shared vault uses."""
    return f"p-{resource_type}", f"q-{resource_type}"


def _named(resource_type: str, patient_id: str) -> dict[str, Any]:
    """A resource of `resource_type` naming the patient (a Patient: the patient itself)."""
    return {"id": str(uuid.uuid4()), **minimal_resource(resource_type, patient_id)}


def _check_create(runtime: Runtime, actor: Caller, resource_type: str, patient_id: str) -> None:
    """Create, then delete, as the matrix allows (a Patient gets an id of its own)."""
    fresh = {**_named(resource_type, patient_id), "id": str(uuid.uuid4())}
    may_write = allowed(actor.role, Action.WRITE, resource_type)
    _expect(may_write, lambda: create_resource(runtime, actor, fresh), PermissionDeniedError)
    if may_write:
        delete_resource(runtime, actor, resource_type, fresh["id"])


def _check_stored(runtime: Runtime, actor: Caller, body: dict[str, Any], patient_id: str) -> None:
    """Read, history, search by patient and update, each allowed or refused by the matrix."""
    resource_type, logical_id = body["resourceType"], body["id"]
    may_read, may_write = (allowed(actor.role, a, resource_type) for a in Action)
    read = _expect(
        may_read,
        lambda: get_record_for(runtime, actor, resource_type, logical_id, P),
        PermissionDeniedError,
    )
    assert read is None or read["id"] == logical_id
    _expect(
        may_read,
        lambda: history_for(runtime, actor, resource_type, logical_id, P),
        PermissionDeniedError,
    )
    found = _expect(
        may_read,
        lambda: search_for(runtime, actor, resource_type, {"patient": [patient_id]}, P),
        PermissionDeniedError,
    )
    assert found is None or [r["id"] for r in found] == [logical_id]
    changed = {**body, "language": f"en-{str(actor.role)[:2]}"}
    _expect(may_write, lambda: update_resource(runtime, actor, changed), PermissionDeniedError)


def _patients_see_only_their_own(
    runtime: Runtime, resource_type: str, logical_id: str, mine_id: str, theirs_id: str
) -> None:
    mine, theirs = _actor(Role.PATIENT, mine_id), _actor(Role.PATIENT, theirs_id)
    assert get_record_for(runtime, mine, resource_type, logical_id, P)["id"] == logical_id
    assert [r["id"] for r in search_for(runtime, mine, resource_type, {}, P)] == [logical_id]
    with pytest.raises(NotFoundError):
        get_record_for(runtime, theirs, resource_type, logical_id, P)
    assert search_for(runtime, theirs, resource_type, {"patient": [mine_id]}, P) == []
    with pytest.raises((NotFoundError, PermissionDeniedError)):
        delete_resource(runtime, mine, resource_type, logical_id)


def _writer(resource_type: str) -> Role:
    """A staff role that may write `resource_type` (every type has one)."""
    return next(role for role in STAFF if allowed(role, Action.WRITE, resource_type))


def test_every_type_round_trips_over_the_fhir_api(runtime: Runtime, client: TestClient) -> None:
    tokens = {role: bearer(runtime, role) for role in {_writer(t) for t in SUPPORTED_TYPES}}
    alice = bearer(runtime, Role.PATIENT, patient_id="p-1")
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    for resource_type in sorted(SUPPORTED_TYPES - {"Patient"}):
        headers = tokens[_writer(resource_type)]
        body = {**minimal_resource(resource_type, "p-1"), "id": "ignored"}
        created = client.post(f"/fhir/{resource_type}", json=body, headers=headers)
        assert created.status_code == 201, (resource_type, created.text)
        logical_id = created.json()["id"]
        url = f"/fhir/{resource_type}/{logical_id}"
        updated = client.put(url, json={**created.json(), "language": "fr"}, headers=headers)
        assert updated.status_code == 200, (resource_type, updated.text)
        assert updated.headers["etag"] == 'W/"2"'
        for query in ("patient=p-1", "subject=Patient/p-1", f"_id={logical_id}"):
            found = client.get(f"/fhir/{resource_type}?{query}", headers=alice)
            assert found.status_code == 200, (resource_type, query, found.text)
            got = [e["resource"]["id"] for e in found.json()["entry"]]
            assert got == [logical_id], (resource_type, query, found.text)
        if resource_type not in WITHOUT_IDENTIFIER:
            found = client.get(f"/fhir/{resource_type}?identifier=nothing", headers=alice)
            assert found.status_code == 200, (resource_type, found.text)
        assert client.get(url, headers=alice).json()["language"] == "fr"
        assert client.delete(url, headers=headers).status_code == 200
        outcome(client.get(url, headers=headers), 410)


def test_reference_data_outside_any_compartment_is_open_to_patients(runtime: Runtime) -> None:
    patient = _actor(Role.PATIENT, "p-2")
    for resource_type in sorted(PUBLIC_TYPES):
        body = minimal_resource(resource_type, "p-1")
        public = {k: v for k, v in body.items() if k != "extension"}
        public["id"] = str(uuid.uuid4())
        create_resource(runtime, SYSTEM, public)
        found = get_record_for(runtime, patient, resource_type, public["id"], P)
        assert found["id"] == public["id"], resource_type
        with pytest.raises(PermissionDeniedError):
            update_resource(runtime, patient, public)


def test_the_capability_statement_is_the_code_s_own_tables(
    runtime: Runtime, client: TestClient
) -> None:
    statement = client.get("/fhir/metadata", headers={"Accept": FHIR_JSON}).json()
    rest = statement["rest"][0]
    listed = {resource["type"]: resource for resource in rest["resource"]}
    assert set(listed) == SUPPORTED_TYPES
    for resource_type, resource in listed.items():
        assert [i["code"] for i in resource["interaction"]] == list(INTERACTIONS)
        params = {p["name"] for p in resource["searchParam"]}
        assert params == search_params(resource_type), resource_type
        assert ("identifier" in params) == (resource_type not in WITHOUT_IDENTIFIER)
        assert ("patient" in params) == (resource_type != "Patient")
    settings = runtime.settings
    assert f"at most {settings.fhir_bundle_max_entries} entries" in rest["documentation"]
    assert f"work budget of {settings.fhir_bundle_budget}" in rest["documentation"]
    doctor = bearer(runtime, Role.CLINICIAN)
    body = outcome(client.get("/fhir/Binary?identifier=x", headers=doctor), 400)
    assert body["issue"][0]["code"] == "not-supported"
