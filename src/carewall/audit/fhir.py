"""Audit entries as FHIR R4 AuditEvent resources (IHE Basic Audit Log Patterns style).

A pure mapping from an entry's hashed body to an AuditEvent, so an export can be
checked against the chain: every resource carries the entry's `seq` and SHA-256
hash (as `entity.detail` on a chain entity) and, when given, the stored body
itself (base64), from which `verify_offline` recomputes every hash and link
with no key and no database. The audit layer knows no domain, so
the mapping reads only the tags' strings (`records:resource:read`) and the
details every domain writes (`patient`, `resource_type(s)`, `purpose`, `role`).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ROLE_SYSTEM = "urn:carewall:role"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
CHAIN_SYSTEM = "urn:carewall:audit-chain"

_PATIENT_RECORD = (DCM, "110110", "Patient Record")
_USER_AUTH = (DCM, "110114", "User Authentication")
_EXPORT = (DCM, "110106", "Export")
_IMPORT = (DCM, "110107", "Import")
_SECURITY_ALERT = (DCM, "110113", "Security Alert")
_REST = (AUDIT_EVENT_TYPE, "rest", "RESTful Operation")
_APPLICATION = (DCM, "110100", "Application Activity")

# action (last part of the tag) -> (FHIR action code, restful-interaction subtype)
_ACTIONS: dict[str, tuple[str, str | None]] = {
    "read": ("R", "read"),
    "performed": ("E", "search-type"),
    "created": ("C", "create"),
    "updated": ("U", "update"),
    "deleted": ("D", "delete"),
    "completed": ("R", None),
}
_EMERGENCY = {
    "records:emergency:started": ("110127", "Emergency Override Started"),
    "records:emergency:stopped": ("110138", "Emergency Override Stopped"),
}
_OUTCOMES = {"success": "0", "failure": "4", "denied": "4"}


def _coding(code: tuple[str, str, str]) -> dict[str, str]:
    return {"system": code[0], "code": code[1], "display": code[2]}


def _fhir_time(ts: str) -> str:
    """An instant in FHIR form (the body's ISO time with its offset)."""
    return datetime.fromisoformat(ts).isoformat(timespec="milliseconds")


def audit_event(
    body: dict[str, Any], entry_hash: bytes, raw: bytes | None = None
) -> dict[str, Any]:
    """The AuditEvent for one entry's parsed body; `entry_hash` (and the stored bytes,
    `raw`) tie it to the chain."""
    action_tag = str(body.get("action", ""))
    domain, subject_kind, verb = [*action_tag.split(":"), "", "", ""][:3]
    details = body.get("details") or {}
    event_type, subtypes, action = _classify(action_tag, domain, subject_kind, verb)
    outcome = str(body.get("outcome", "success"))
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"carewall-audit-{body.get('seq')}",
        "type": _coding(event_type),
        "action": action,
        "recorded": _fhir_time(str(body["ts"])),
        "outcome": _OUTCOMES.get(outcome, "8"),
        "outcomeDesc": f"{action_tag} {outcome}",
        "agent": [_agent(body, details)],
        "source": {
            "site": "Carewall",
            "observer": {"display": "Carewall"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
        "entity": _entities(body, details, entry_hash, raw),
    }
    if subtypes:
        resource["subtype"] = subtypes
    purpose = details.get("purpose")
    if isinstance(purpose, str) and purpose:
        resource["purposeOfEvent"] = [{"coding": [{"system": PURPOSE_SYSTEM, "code": purpose}]}]
    return resource


def _classify(
    tag: str, domain: str, subject_kind: str, verb: str
) -> tuple[tuple[str, str, str], list[dict[str, str]], str]:
    """Event type, subtypes and action code for a tag."""
    if tag in _EMERGENCY:
        code, display = _EMERGENCY[tag]
        return _PATIENT_RECORD, [{"system": DCM, "code": code, "display": display}], "E"
    if domain == "identity" and subject_kind in {"login", "mfa", "logout", "stepup"}:
        return (
            _USER_AUTH,
            [
                {
                    "system": DCM,
                    "code": "110122" if verb != "logout" else "110123",
                    "display": "Login" if verb != "logout" else "Logout",
                }
            ],
            "E",
        )
    if domain == "records":
        if subject_kind == "export":
            return _EXPORT, [_coding(_PATIENT_RECORD)], "R"
        if subject_kind == "import":
            return _IMPORT, [_coding(_PATIENT_RECORD)], "C"
        code, interaction = _ACTIONS.get(verb, ("E", None))
        subtypes = [{"system": RESTFUL, "code": interaction}] if interaction else []
        if subject_kind == "history":
            subtypes = [{"system": RESTFUL, "code": "history-instance"}]
        if verb == "denied":
            return _SECURITY_ALERT, [_coding(_PATIENT_RECORD)], "E"
        return _PATIENT_RECORD, subtypes, code
    if verb in {"denied", "rejected", "broken"}:
        return _SECURITY_ALERT, [], "E"
    return _APPLICATION, [{"system": ROLE_SYSTEM, "code": tag}], "E"


def _agent(body: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    actor = str(body.get("actor") or "system")
    agent: dict[str, Any] = {
        "who": {"identifier": {"system": "urn:carewall:actor", "value": actor}},
        "requestor": True,
    }
    role = details.get("role")
    if isinstance(role, str) and role:
        agent["role"] = [{"coding": [{"system": ROLE_SYSTEM, "code": role}]}]
    ip = str(body.get("ip") or "")
    if ip:
        agent["network"] = {"address": ip, "type": "2"}
    return agent


def _entities(
    body: dict[str, Any], details: dict[str, Any], entry_hash: bytes, raw: bytes | None
) -> list[dict[str, Any]]:
    """The patient, the resource touched, and the chain link this event came from."""
    entities: list[dict[str, Any]] = []
    patient = details.get("patient")
    subject = str(body.get("subject") or "")
    if not patient and subject.startswith("Patient/"):
        patient = subject.removeprefix("Patient/")
    # A search that returned several patients names each of them (IHE BALP: one
    # patient entity per patient whose data the query returned).
    listed = details.get("patient_ids")
    patients = [patient] if patient else listed if isinstance(listed, list) else []
    for one in patients:
        if not isinstance(one, str) or not one:
            continue
        entities.append(
            {
                "what": {"reference": f"Patient/{one}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    rtype, rid = details.get("resource_type"), details.get("id")
    if isinstance(rtype, str) and isinstance(rid, str) and rtype != "Patient":
        entities.append(
            {
                "what": {"reference": f"{rtype}/{rid}"},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            }
        )
    elif isinstance(rtype, str) and rtype and rid is None:
        entities.append(
            {
                "what": {"display": rtype},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
            }
        )
    entities.append(
        {
            "what": {"identifier": {"system": CHAIN_SYSTEM, "value": str(body.get("seq"))}},
            "type": {"system": ENTITY_TYPE, "code": "4", "display": "Other"},
            "description": "Carewall audit chain entry",
            "detail": [
                {"type": "seq", "valueString": str(body.get("seq"))},
                {"type": "sha256", "valueString": entry_hash.hex()},
                {"type": "action", "valueString": str(body.get("action", ""))},
                *([] if raw is None else [{"type": "body", "valueBase64Binary": b64(raw)}]),
            ],
        }
    )
    return entities


def b64(raw: bytes) -> str:
    """Base64 text of bytes (FHIR base64Binary)."""
    return base64.b64encode(raw).decode("ascii")
