"""`carewall audit export --format fhir`: R4B-valid AuditEvents that trace back to the chain."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

from carewall.audit.events import AuditEvent, Outcome, canonical_body, parse_body
from carewall.audit.fhir import DCM, audit_event
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import Role
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.services import create_resource, start_break_glass


def _event(
    action: str, outcome: Outcome = Outcome.SUCCESS, **details: object
) -> tuple[dict[str, object], bytes]:
    body = canonical_body(
        7,
        utcnow(),
        AuditEvent(
            action=action,
            outcome=outcome,
            actor="user:u1",
            subject="Patient/p1",
            source_ip="10.0.0.5",
            details=details,
        ),  # type: ignore[arg-type]
        bytes(32),
    )
    return parse_body(body), hashlib.sha256(body).digest()


def test_record_read_maps_to_patient_record_with_chain_link() -> None:
    body, digest = _event(
        "records:resource:read", resource_type="Observation", id="o1", patient="p1", purpose="TREAT"
    )
    event = audit_event(body, digest)
    FhirAuditEvent.model_validate(event)
    assert event["type"]["code"] == "110110"
    assert event["action"] == "R"
    assert event["outcome"] == "0"
    assert event["subtype"][0]["code"] == "read"
    whats = [e["what"].get("reference") for e in event["entity"]]
    assert "Patient/p1" in whats
    assert "Observation/o1" in whats
    chain = event["entity"][-1]["detail"]
    assert {"type": "sha256", "valueString": digest.hex()} in chain
    assert {"type": "seq", "valueString": "7"} in chain
    assert event["agent"][0]["network"]["address"] == "10.0.0.5"


def test_break_glass_and_sign_in_codes() -> None:
    started = audit_event(*_event("records:emergency:started", patient="p1"))
    FhirAuditEvent.model_validate(started)
    assert started["subtype"] == [
        {"system": DCM, "code": "110127", "display": "Emergency Override Started"}
    ]
    login = audit_event(*_event("identity:login:failure", Outcome.FAILURE))
    FhirAuditEvent.model_validate(login)
    assert login["type"]["code"] == "110114"
    assert login["outcome"] == "4"


def test_cli_export_writes_valid_ndjson(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    runtime = open_runtime(settings)
    system = Caller.cli("test")
    create_resource(runtime, system, {"resourceType": "Patient", "id": "p9"})
    doc = Caller("user:doc", Role.CLINICIAN, session_id="doc")
    get_record_for(runtime, doc, "Patient", "p9", Purpose.TREATMENT)
    start_break_glass(runtime, doc, "p9", "emergency", "x")
    runtime.close()
    out = tmp_path / "audit.ndjson"
    env = {"CAREWALL_HOME": str(settings.home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "carewall",
            "audit",
            "export",
            "--format",
            "fhir",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert events
    for event in events:
        FhirAuditEvent.model_validate(event)
    seqs = [int(e["entity"][-1]["detail"][0]["valueString"]) for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert any(e.get("subtype", [{}])[0].get("code") == "110127" for e in events)
