"""The vault at rest and over time: encryption, tamper detection, versions, search."""

from __future__ import annotations

import pytest

from carewall.core.context import Caller
from carewall.core.crypto import KeyRing, generate_key
from carewall.core.errors import DecryptionError, MasterKeyError, NotFoundError
from carewall.core.keystore import Keystore
from carewall.core.runtime import Runtime
from carewall.records import Purpose, ResourceGoneError, VersionConflictError
from carewall.records.access import get_record_for, history_for, search_for, vread_for
from carewall.records.services import create_resource, delete_resource, update_resource
from carewall.records.store import current_row, open_row
from carewall.records.store.keys import RecordKeys
from tests.support.factories import fhir_resource
from tests.support.fhir import assert_absent_from_vault

CLI = Caller.cli("test")
P = Purpose.TREATMENT


def test_nothing_identifying_or_clinical_is_stored_in_plain_text(runtime: Runtime) -> None:
    patient = fhir_resource("Patient", "p-1")
    patient["identifier"] = [{"system": "urn:mrn", "value": "MRN-778899"}]
    patient["telecom"] = [{"system": "phone", "value": "555-0142"}]
    obs = fhir_resource("Observation", "p-1", valueString="Hyperglycaemia noted")
    create_resource(runtime, CLI, patient)
    create_resource(runtime, CLI, obs)
    secrets = [
        "Zebedee",
        "Quill",
        "1970-01-02",
        "MRN-778899",
        "555-0142",
        "Hyperglycaemia noted",
        "8867-4",
        "http://loinc.org",
    ]
    with runtime.db.engine.connect() as conn:
        assert_absent_from_vault(conn, secrets)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(runtime: Runtime) -> None:
    a, b = fhir_resource("Patient", "p-a"), fhir_resource("Patient", "p-b")
    create_resource(runtime, CLI, a)
    create_resource(runtime, CLI, b)
    with runtime.db.transaction() as session:
        row_a = current_row(session, "Patient", "p-a")
        row_b = current_row(session, "Patient", "p-b")
        assert row_a is not None
        assert row_b is not None
        row_b.ciphertext = row_a.ciphertext
    with pytest.raises(DecryptionError, match="failed authentication"):
        get_record_for(runtime, CLI, "Patient", "p-b", P)
    assert get_record_for(runtime, CLI, "Patient", "p-a", P)["id"] == "p-a"


def test_a_wrong_key_is_a_clear_error_not_garbage(runtime: Runtime) -> None:
    create_resource(runtime, CLI, fhir_resource("Patient", "p-k"))
    wrong = RecordKeys(generate_key(), generate_key())
    with runtime.db.sessions() as session:
        row = current_row(session, "Patient", "p-k")
        assert row is not None
        with pytest.raises(DecryptionError):
            open_row(wrong, row)
    other_ring = Keystore(runtime.db, KeyRing({1: generate_key()}))
    with pytest.raises(MasterKeyError, match="wrong master key"):
        other_ring.data_key("records")


def test_updates_make_versions_with_vread_history_and_if_match(runtime: Runtime) -> None:
    patient = fhir_resource("Patient", "p-v")
    assert create_resource(runtime, CLI, patient)["versionId"] == 1
    changed = {**patient, "gender": "female"}
    assert update_resource(runtime, CLI, changed, if_match=1)["versionId"] == 2
    with pytest.raises(VersionConflictError) as conflict:
        update_resource(runtime, CLI, {**patient, "gender": "male"}, if_match=1)
    assert conflict.value.status == 412
    assert update_resource(runtime, CLI, changed)["changed"] is False  # same content
    current = get_record_for(runtime, CLI, "Patient", "p-v", P)
    assert current["gender"] == "female"
    assert current["meta"]["versionId"] == "2"
    assert "gender" not in vread_for(runtime, CLI, "Patient", "p-v", 1, P)
    assert [e.version for e in history_for(runtime, CLI, "Patient", "p-v", P)] == [2, 1]


def test_delete_is_a_tombstone_and_history_keeps_the_past(runtime: Runtime) -> None:
    create_resource(runtime, CLI, fhir_resource("Patient", "p-d"))
    assert delete_resource(runtime, CLI, "Patient", "p-d")["versionId"] == 2
    with pytest.raises(ResourceGoneError):
        get_record_for(runtime, CLI, "Patient", "p-d", P)
    history = history_for(runtime, CLI, "Patient", "p-d", P)
    assert [(e.version, e.deleted) for e in history] == [(2, True), (1, False)]
    assert search_for(runtime, CLI, "Patient", {"family": ["zebedee"]}, P) == []
    with pytest.raises(NotFoundError):
        get_record_for(runtime, CLI, "Patient", "never-was", P)


def test_search_is_exact_on_normalised_values(runtime: Runtime) -> None:
    patient = fhir_resource("Patient", "p-s", name=[{"family": "Müller  Smith", "given": ["Zoë"]}])
    patient["telecom"] = [{"system": "email", "value": "Zoe@Example.org"}]
    create_resource(runtime, CLI, patient)
    create_resource(runtime, CLI, fhir_resource("Observation", "p-s"))

    def ids(resource_type: str, **params: str) -> list[str]:
        found = search_for(runtime, CLI, resource_type, {k: [v] for k, v in params.items()}, P)
        return [r["id"] for r in found]

    assert ids("Patient", family="muller smith", given="ZOE") == ["p-s"]
    assert ids("Patient", birthdate="1970-01-02", email="zoe@example.org") == ["p-s"]
    assert ids("Patient", family="muller") == ["p-s"]  # a name's beginning (FHIR strings)
    assert ids("Patient", **{"family:exact": "muller"}) == []  # :exact is the whole name
    assert len(ids("Observation", patient="Patient/p-s", code="http://loinc.org|8867-4")) == 1
    assert ids("Observation", patient="p-other") == []
