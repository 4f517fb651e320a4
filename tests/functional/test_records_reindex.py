"""Rows written before references had one canonical form are re-filed under their patient.

The rows are written exactly as the code before the fix filed them (the patient
read only from `Patient/{id}` in `patient`, `subject` or `beneficiary`), and
the attack is shown working on them first. Migration 0008 schedules the
re-index when the vault holds rows; it runs after the runtime opens, resumably.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from carewall.audit import entries_with_action
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.db import alembic_config, new_id
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import Purpose, RecordsTag, store
from carewall.records.access import search_for
from carewall.records.access.restriction import restrict_compartment
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.services import create_resource
from carewall.records.store.keys import RecordKeys, canonical_json
from carewall.records.store.reindex import reindex_pending, reindex_references, schedule_reindex
from carewall.records.store.search import find_rows
from carewall.records.store.terms import FOLDED_IDENTIFIER, search_terms
from tests.support.cli import carewall
from tests.support.factories import fhir_resource, token_for
from tests.support.fhir import outcome

SYSTEM = Caller.cli("test")
CODE = {"coding": [{"system": "http://loinc.org", "code": "LEGACY-1"}]}


def _old_patient_id_of(resource: dict[str, Any]) -> str | None:
    """How the vault read a resource's patient before canonical references (the bug)."""
    if resource.get("resourceType") == "Patient":
        return str(resource["id"])
    for name in ("patient", "subject", "beneficiary"):
        ref = resource.get(name)
        if isinstance(ref, dict):
            target = ref.get("reference")
            if isinstance(target, str) and target.startswith("Patient/"):
                return target.removeprefix("Patient/")
    return None


def _legacy_write(runtime: Runtime, resource: dict[str, Any]) -> None:
    """Store the next version of `resource` as the code before the fix did."""
    keys = RecordKeys.from_keystore(runtime.keys)
    now = utcnow()
    with runtime.db.transaction() as session:
        existing = store.current_row(session, resource["resourceType"], resource["id"])
        version = existing.version_id + 1 if existing else 1
        body = {**resource, "meta": {"versionId": str(version)}}
        old = _old_patient_id_of(resource)
        values = {
            "id": new_id(),
            "resource_type": resource["resourceType"],
            "logical_id": resource["id"],
            "version_id": version,
            "is_current": True,
            "deleted": False,
            "last_updated": now,
            "patient_ref": keys.patient_ref(old) if old else None,
            "content_mac": None,
            "ciphertext": keys.seal(
                resource["resourceType"], resource["id"], version, canonical_json(body)
            ),
        }
        index = [
            {
                "id": new_id(),
                "resource_id": values["id"],
                "param": param,
                "value_hmac": keys.blind(resource["resourceType"], param, value),
            }
            for param, value in sorted(search_terms(resource))
        ]
        prepared = store.PreparedVersion(values, index, existing is None, old)
        store.insert_versions(session, [prepared], [existing] if existing else [])


def _legacy_delete(runtime: Runtime, resource_type: str, logical_id: str) -> None:
    with runtime.db.transaction() as session:
        existing = store.current_row(session, resource_type, logical_id)
        assert existing is not None
        store.write_tombstone(session, existing, utcnow())


def _observation(logical_id: str, reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": logical_id,
        "status": "final",
        "code": CODE,
        "subject": {"reference": reference},
    }


def _found(client: TestClient, headers: dict[str, str]) -> set[str]:
    found = client.get("/fhir/Observation?code=LEGACY-1", headers=headers)
    assert found.status_code == 200, found.text
    return {e["resource"]["id"] for e in found.json()["entry"]}


def _reschedule_by_migration(runtime: Runtime) -> None:
    """Replay migration 0008 (down, then up) on this database, which now holds rows.

    Alembic cannot step back to 0007 any more: 0009 refuses to drop the sealed
    columns once they hold data, so 0008's own functions are run in place.
    """
    versions = Path(alembic_config().get_main_option("script_location") or "") / "versions"
    path = next(versions.glob("0008_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with (
        runtime.db.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection, opts={"render_as_batch": True})),
    ):
        migration.downgrade()
        migration.upgrade()


def test_rows_filed_under_no_patient_are_refiled_and_stop_leaking(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "vip"))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    base = f"{runtime.settings.public_url}/fhir"
    odd = {
        "url": f"{base}/Patient/vip",
        "space": " Patient/vip",
        "lower": "patient/vip",
        "versioned": "Patient/vip/_history/1",
        "query": "Patient/vip?x",
        "fragment": "Patient/vip#x",
    }
    for name, reference in odd.items():
        _legacy_write(runtime, _observation(name, reference))
    _legacy_write(runtime, _observation("deleted", "Patient/p-1"))  # v1 in p-1's compartment
    _legacy_write(runtime, _observation("deleted", "patient/vip"))  # v2 moved, oddly
    _legacy_delete(runtime, "Observation", "deleted")  # v3 tombstone
    _legacy_write(runtime, _observation("own", "patient/p-1"))
    _legacy_write(runtime, _observation("external", "https://elsewhere.example/fhir/Patient/p-1"))
    nurse = token_for(runtime, "nurse@clinic.example", Role.CLINICIAN)
    own = token_for(runtime, "p1@example.org", Role.PATIENT, patient_id="p-1")
    assert set(odd) <= _found(client, nurse), "the hole, as it was"
    assert "own" not in _found(client, own)

    _reschedule_by_migration(runtime)
    assert reindex_pending(runtime)
    first = reindex_references(runtime, batch=3, max_batches=1)
    assert (first.examined, first.finished) == (3, False)
    assert reindex_pending(runtime), "an interrupted run leaves the task to resume"
    rest = reindex_references(runtime, batch=3)
    assert rest.finished
    assert not reindex_pending(runtime)
    assert first.changed + rest.changed == len(odd) + 2 + 1  # odd rows, moved v2 and tombstone, own

    assert _found(client, nurse) == {"own", "external"}
    for name in odd:
        outcome(client.get(f"/fhir/Observation/{name}", headers=nurse), 403, "forbidden")
    assert _found(client, own) == {"own"}
    history = client.get("/fhir/Observation/deleted/_history", headers=own).json()
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"1"']
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        tombstone = session.scalars(
            select(FhirResource).where(
                FhirResource.logical_id == "deleted", FhirResource.version_id == 3
            )
        ).one()
        assert tombstone.patient_ref == keys.patient_ref("vip")
        done = entries_with_action(session, [RecordsTag.INDEX_REBUILT])
    assert len(done) == 1
    assert done[0].details["changed"] == first.changed + rest.changed
    assert done[0].details["examined"] > 0


def test_a_finished_or_unscheduled_reindex_does_nothing(runtime: Runtime) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Observation", "p-1"))
    assert not reindex_pending(runtime), "a new database has nothing written the old way"
    assert reindex_references(runtime).examined == 0
    schedule_reindex(runtime)
    schedule_reindex(runtime)
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 0, True)


def test_the_command_and_every_start_finish_a_scheduled_reindex(
    runtime: Runtime, cli_env: dict[str, str]
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    _legacy_write(runtime, _observation("odd", "patient/p-1"))
    schedule_reindex(runtime)
    started = carewall(cli_env, "audit", "verify")
    assert started.returncode == 0, started.stderr
    assert "1 re-filed (patient or search terms)" in started.stderr
    assert not reindex_pending(runtime)
    again = carewall(cli_env, "records", "reindex")
    assert again.returncode == 0, again.stderr
    assert "2 versions examined, 0 re-filed (patient or search terms)" in again.stderr


def test_reindex_back_fills_name_prefix_and_phonetic_terms(runtime: Runtime) -> None:
    """A vault written before names had prefix terms finds them by prefix after a re-index."""
    patient = fhir_resource("Patient", "p-old", name=[{"family": "Okonkwo", "given": ["Ada"]}])
    create_resource(runtime, SYSTEM, patient)
    with runtime.db.transaction() as session:  # as the code before prefix terms filed it
        session.execute(
            delete(FhirSearchIndex).where(
                FhirSearchIndex.param.in_(["family:prefix", "given:prefix", "phonetic"])
            )
        )

    def found(params: dict[str, list[str]]) -> list[str]:
        resources = search_for(runtime, SYSTEM, "Patient", params, Purpose.OPERATIONS)
        return [r["id"] for r in resources]

    assert found({"family": ["okon"]}) == []
    assert found({"family:exact": ["okonkwo"]}) == ["p-old"]
    schedule_reindex(runtime)
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 1, True)
    assert found({"family": ["okon"]}) == ["p-old"]
    assert found({"name": ["ad"], "phonetic": ["okonkwo"]}) == ["p-old"]
    assert reindex_references(runtime).examined == 0
    schedule_reindex(runtime)
    assert reindex_references(runtime).changed == 0, "terms already right are left alone"


def test_reindex_back_fills_date_and_token_system_terms(runtime: Runtime) -> None:
    """A vault written before clinical dates and token systems had terms (revision 0021)
    finds them by date range and by `system|` after a re-index."""
    observation = fhir_resource(
        "Observation", "p-old", id="o-old", effectiveDateTime="2019-07-04T10:00:00Z", code=CODE
    )
    create_resource(runtime, SYSTEM, observation)
    with runtime.db.transaction() as session:  # as the code before date terms filed it
        session.execute(
            delete(FhirSearchIndex).where(
                FhirSearchIndex.param.like("date:%") | FhirSearchIndex.param.like("code:%")
            )
        )

    def found(params: dict[str, list[str]]) -> list[str]:
        resources = search_for(runtime, SYSTEM, "Observation", params, Purpose.OPERATIONS)
        return [r["id"] for r in resources]

    in_2019 = {"date": ["ge2019-07-01", "lt2019-08"]}
    assert found(in_2019) == []
    assert found({"code": ["http://loinc.org|"]}) == []
    schedule_reindex(runtime)
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 1, True)
    assert found(in_2019) == ["o-old"]
    assert found({"code": ["http://loinc.org|"]}) == ["o-old"]
    assert found({"date": ["2019-07-05"]}) == []


def test_reindex_moves_birth_dates_to_bucket_terms(runtime: Runtime) -> None:
    """A vault written when a birth date was one exact `birthdate` term (before revision
    0021) finds patients by birth-date range after the re-index, which drops that term."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-old", birthDate="1962-01-25"))
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.transaction() as session:  # as the code before birth-date buckets filed it
        row = store.current_row(session, "Patient", "p-old")
        assert row is not None
        session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.param.like("date:%")))
        hmac = keys.blind("Patient", "birthdate", "1962-01-25")
        session.add(
            FhirSearchIndex(id=new_id(), resource_id=row.id, param="birthdate", value_hmac=hmac)
        )

    def found(params: dict[str, list[str]]) -> list[str]:
        resources = search_for(runtime, SYSTEM, "Patient", params, Purpose.OPERATIONS)
        return [r["id"] for r in resources]

    assert found({"birthdate": ["eq1962"]}) == []
    _replay_migration(runtime, "0021")
    assert reindex_pending(runtime), "revision 0021 schedules the re-index of a vault with patients"
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 1, True)
    assert found({"birthdate": ["eq1962"]}) == ["p-old"]
    assert found({"birthdate": ["1962-01-25"], "_id": ["p-old"]}) == ["p-old"]
    with runtime.db.sessions() as session:
        params = session.scalars(select(FhirSearchIndex.param)).all()
    assert "birthdate" not in params


def test_reindex_indexes_identifiers_as_written(runtime: Runtime) -> None:
    """A vault written when identifier terms were folded (before revision 0022) matches
    identifiers as written after the re-index; the staff search still folds them."""
    mrn = {"system": "urn:mrn", "value": "AB-12"}
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-old", identifier=[mrn]))
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.transaction() as session:  # as the code before revision 0022 filed it
        row = store.current_row(session, "Patient", "p-old")
        assert row is not None
        session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.param.like("identifier%")))
        for value in ("ab-12", "urn:mrn|ab-12"):
            hmac = keys.blind("Patient", "identifier", value)
            session.add(
                FhirSearchIndex(
                    id=new_id(), resource_id=row.id, param="identifier", value_hmac=hmac
                )
            )

    def found(value: str) -> list[str]:
        params = {"identifier": [value]}
        resources = search_for(runtime, SYSTEM, "Patient", params, Purpose.OPERATIONS)
        return [r["id"] for r in resources]

    assert found("urn:mrn|ab-12") == ["p-old"], "the old folded term"
    _replay_migration(runtime, "0022")
    assert reindex_pending(runtime), "revision 0022 schedules the re-index of identified rows"
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 1, True)
    assert found("urn:mrn|AB-12") == ["p-old"]
    assert found("AB-12") == ["p-old"]
    assert found("urn:mrn|ab-12") == []
    with runtime.db.read_transaction() as session:
        folded = find_rows(session, keys, "Patient", {FOLDED_IDENTIFIER: ["ab-12"]})
    assert [r.logical_id for r in folded] == ["p-old"]


def test_reindex_gives_dates_their_end_terms(runtime: Runtime) -> None:
    """A vault written when a Period was found by its start only (before revision 0023)
    finds an encounter still under way after a date once the re-index wrote its end."""
    stay = {"start": "2024-04-01", "end": "2024-04-10"}
    create_resource(runtime, SYSTEM, fhir_resource("Encounter", "p-old", id="e-old", period=stay))
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.transaction() as session:  # as the code before revision 0023 filed it
        row = store.current_row(session, "Encounter", "e-old")
        assert row is not None
        session.execute(delete(FhirSearchIndex).where(FhirSearchIndex.resource_id == row.id))
        start = [("c", "202"), ("y", "2024"), ("m", "2024-04"), ("d", "2024-04-01")]
        for level, value in start:
            hmac = keys.blind("Encounter", f"date:{level}", value)
            session.add(
                FhirSearchIndex(
                    id=new_id(), resource_id=row.id, param=f"date:{level}", value_hmac=hmac
                )
            )

    def found(params: dict[str, list[str]]) -> list[str]:
        resources = search_for(runtime, SYSTEM, "Encounter", params, Purpose.OPERATIONS)
        return [r["id"] for r in resources]

    during = {"date": ["ge2024-04-05"]}
    assert found(during) == []
    _replay_migration(runtime, "0023")
    assert reindex_pending(runtime), "revision 0023 schedules the re-index of dated rows"
    report = reindex_references(runtime)
    assert (report.examined, report.changed, report.finished) == (1, 1, True)
    assert found(during) == ["e-old"]
    assert found({"date": ["2024-04"]}) == ["e-old"]
    assert found({"date": ["gt2024-04-10"]}) == []
    assert found({"date": ["2024-04-01"]}) == [], "its start is no longer a single date's term"


def _replay_migration(runtime: Runtime, revision: str) -> None:
    """Run one revision's `upgrade` in place on this database (which now holds rows)."""
    versions = Path(alembic_config().get_main_option("script_location") or "") / "versions"
    path = next(versions.glob(f"{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with (
        runtime.db.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection, opts={"render_as_batch": True})),
    ):
        migration.upgrade()
