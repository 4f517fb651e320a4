"""The audit viewer through HTTP: filters, keyset pages, one entry in the chain, exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from sqlalchemy import text

from carewall.audit import (
    AuditEvent,
    Outcome,
    actions_in_use,
    actors_in_use,
    entries_with_action,
    entry_count,
    record,
    write_checkpoint,
)
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.factories import fhir_resource
from tests.support.signin import post_form, sign_in_admin, sign_in_user

SYSTEM = Caller.cli("test")


def _scene(runtime: Runtime) -> str:
    """Two patients read by a nurse, a refusal, and 60 filler entries; the nurse's ref."""
    create_resource(
        runtime,
        SYSTEM,
        fhir_resource("Patient", "pa", name=[{"family": "Abara", "given": ["Ife"]}]),
    )
    create_resource(
        runtime,
        SYSTEM,
        fhir_resource("Patient", "pb", name=[{"family": "Brandt", "given": ["Ola"]}]),
    )
    with TestClient(create_app(runtime)) as nurse_client:
        sign_in_user(nurse_client, runtime, "nurse@clinic.example", "clinician")
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, "nurse@clinic.example")
    nurse = Caller.for_user(uid, Role.CLINICIAN)
    for pid in ("pa", "pb", "pa"):
        get_record_for(runtime, nurse, "Patient", pid, Purpose.TREATMENT)
    with runtime.db.transaction() as session:
        for n in range(60):
            record(session, AuditEvent(action="core:test:filler", actor="cli", details={"n": n}))
        record(
            session,
            AuditEvent(action="core:test:filler", actor="cli", outcome=Outcome.FAILURE),
        )
    return f"user:{uid}"


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    nurse = _scene(runtime)
    app = create_app(runtime)
    c = TestClient(app)
    sign_in_admin(c, runtime)
    c.nurse = nurse  # type: ignore[attr-defined]
    return c


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<th scope="row"><a href="/admin/audit/(\d+)">', html)]


def test_filters_by_user_action_outcome_and_date(runtime: Runtime, client: TestClient) -> None:
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert len(_seqs(page.text)) == 50
    assert "Latest signed checkpoint" in page.text
    nurse = client.nurse  # type: ignore[attr-defined]
    reads = post_form(client, "/admin/audit", {"actor": nurse, "action": "records:resource:read"})
    assert len(_seqs(reads.text)) == 3
    assert "nurse@clinic.example" in reads.text
    domain = post_form(client, "/admin/audit", {"actor": nurse, "action": "records:"})
    assert len(_seqs(domain.text)) == 3
    failed = post_form(client, "/admin/audit", {"action": "core:test:filler", "outcome": "failure"})
    assert len(_seqs(failed.text)) == 1
    future = post_form(client, "/admin/audit", {"since": "2999-01-01"})
    assert 'id="no-entries"' in future.text
    bad = post_form(client, "/admin/audit", {"since": "yesterday", "outcome": "maybe"})
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.text
    assert "Outcome" in bad.text


def test_pages_by_seq_and_filters_by_patient_chosen_by_lookup(
    runtime: Runtime, client: TestClient
) -> None:
    first = post_form(client, "/admin/audit", {"action": "core:test:filler"})
    older = re.search(r'name="before" value="(\d+)"', first.text)
    assert older
    second = post_form(
        client, "/admin/audit", {"action": "core:test:filler", "before": older.group(1)}
    )
    assert len(_seqs(first.text)) == 50
    assert len(_seqs(second.text)) == 11
    assert max(_seqs(second.text)) < min(_seqs(first.text))
    found = post_form(client, "/admin/audit/find-patient", {"family": "abar"})
    assert "Abara, Ife" in found.text
    assert 'name="patient_id" value="pa"' in found.text
    about_pa = post_form(
        client, "/admin/audit", {"patient_id": "pa", "action": "records:resource:read"}
    )
    assert len(_seqs(about_pa.text)) == 2
    assert "Abara, Ife" in about_pa.text


def test_an_entry_shows_its_chain_position_hash_and_patient(
    runtime: Runtime, client: TestClient
) -> None:
    with runtime.db.sessions() as session:
        read = entries_with_action(session, ["records:resource:read"], limit=1)[0]
    page = client.get(f"/admin/audit/{read.seq}")
    assert page.status_code == 200
    assert f"Position</dt><dd>{read.seq}</dd>" in page.text
    hashes = re.findall(r'<code class="hash">([0-9a-f]{64})</code>', page.text)
    assert len(hashes) == 2
    assert "Abara, Ife" in page.text
    assert client.get("/admin/audit/999999").status_code == 404


def test_exports_the_filtered_view_as_csv_and_fhir(runtime: Runtime, client: TestClient) -> None:
    nurse = client.nurse  # type: ignore[attr-defined]
    wanted = {"actor": nurse, "action": "records:resource:read"}
    exported = post_form(client, "/admin/audit/export.csv", wanted)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["records:resource:read"] * 3
    assert {r["actor_name"] for r in rows} == {"nurse@clinic.example"}
    assert all(len(r["entry_hash"]) == 64 for r in rows)
    ndjson = post_form(client, "/admin/audit/export.ndjson", {**wanted, "patient_id": "pb"})
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert len(lines) == 1
    FhirAuditEvent.model_validate(lines[0])
    assert "Patient/pb" in json.dumps(lines[0])
    with runtime.db.sessions() as session:
        exports = entries_with_action(session, ["audit:trail:exported"])
    assert [e.details["format"] for e in exports] == ["fhir-ndjson", "csv"]
    assert exports[0].details["count"] == 1
    assert exports[0].details["filters"] == ["action", "actor", "patient_id"]


def test_the_viewer_is_for_the_officer_and_auditors(runtime: Runtime) -> None:
    _scene(runtime)
    with TestClient(create_app(runtime)) as desk:
        sign_in_user(desk, runtime, "desk@clinic.example", "front_desk")
        assert desk.get("/admin/audit").status_code == 403
        assert post_form(desk, "/admin/audit/export.csv", {}).status_code == 403
    with TestClient(create_app(runtime)) as auditor:
        sign_in_user(auditor, runtime, "aud@clinic.example", "auditor")
        assert auditor.get("/admin/audit").status_code == 200


def test_the_integrity_panel_shows_the_latest_signed_checkpoint(
    runtime: Runtime, client: TestClient
) -> None:
    before = client.get("/admin/audit").text
    assert "None yet" in before
    made = write_checkpoint(runtime, SYSTEM, trigger="cli")
    after = client.get("/admin/audit").text
    panel = after.split('id="latest-checkpoint"', 1)[1].split("</dd>", 1)[0]
    assert f'href="/admin/audit/{made.checkpoint.seq}"' in panel
    assert made.checkpoint.head_hash.hex()[:16] in panel


def test_the_dropdowns_follow_new_entries_and_a_replaced_trail(runtime: Runtime) -> None:
    """The choice of actions and actors is remembered per database and read onward from
    the last entry seen; a trail cut back and written again is read from the start."""

    def append(action: str, actor: str) -> None:
        with runtime.db.transaction() as session:
            record(session, AuditEvent(action=action, actor=actor))

    def in_use() -> tuple[list[str], list[str]]:
        with runtime.db.sessions() as session:
            return actions_in_use(session), actors_in_use(session)

    append("test:first:done", "alice")
    actions, actors = in_use()
    assert "test:first:done" in actions
    assert "alice" in actors
    with runtime.db.sessions() as session:
        cut = entry_count(session)
    append("test:second:done", "bob")
    actions, actors = in_use()
    assert {"test:first:done", "test:second:done"} <= set(actions)
    assert {"alice", "bob"} <= set(actors)
    with runtime.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": cut})
    append("test:third:done", "carol")
    actions, actors = in_use()
    assert "test:second:done" not in actions
    assert "bob" not in actors
    assert {"test:first:done", "test:third:done"} <= set(actions)
