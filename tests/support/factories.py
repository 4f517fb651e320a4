"""Factories: users, API tokens and FHIR resources, made through the real services.

Nothing here writes rows by hand: a user is invited and accepts as a person
would (`make_user`), an administrator is created as `carewall init` does
(`make_admin`), a resource goes through the vault's service (`make_resources`),
so a test that uses them also exercises those paths. An integration account is
created as `carewall user add --role integration` does (`make_integration`).
Resource bodies come from `fhir_resource`, the smallest valid resource of each
supported type.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from carewall.core.context import Caller, Origin
from carewall.core.runtime import Runtime
from carewall.identity import Role, accounts, apitokens, queries
from carewall.records.services import create_resource
from tests.support.minimal import minimal_resource

PASSWORD = "violet harbour lantern 1987"  # passes the policy, not on the breached list
ADMIN_EMAIL = "admin@clinic.example"
#: Where the factories' service calls come from: the console, as `carewall` commands do.
CLI = Origin(ip="", user_agent="cli")
#: The trusted tooling that writes test records (audited as `test`).
SYSTEM = Caller.cli("test")
FHIR_JSON = "application/fhir+json"
BOTH = ("fhir:read", "fhir:write")


@dataclass
class Person:
    """A test user: id, credentials and, once enrolled, the TOTP secret and recovery codes."""

    email: str
    password: str
    secret: str = ""
    recovery_codes: list[str] | None = None
    id: str = ""


def make_admin(runtime: Runtime, email: str = ADMIN_EMAIL) -> Person:
    """The first administrator, created as `carewall init` does (no factor yet)."""
    accounts.create_admin(runtime, email, PASSWORD, CLI)
    return Person(email, PASSWORD, id=user_id_of(runtime, email))


def make_user(
    runtime: Runtime, email: str, role: str | Role, patient_id: str | None = None
) -> Person:
    """A user who was invited with `role` and accepted (no factor yet)."""
    link = accounts.invite_user(runtime, Caller.cli(), email, str(role), patient_id=patient_id)
    token = link.url.rsplit("/", 1)[1]
    accounts.accept_invite(runtime, token, PASSWORD, CLI)
    return Person(email, PASSWORD, id=link.user_id)


def make_integration(runtime: Runtime, email: str = "feed@clinic.example") -> str:
    """A token-only integration account, created as `carewall user add --role integration`
    does; its id."""
    return accounts.create_integration(runtime, Caller.cli(), email).id


def user_id_of(runtime: Runtime, email: str) -> str:
    """The id of the user with this email."""
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    assert user_id is not None, email
    return user_id


def token_of(runtime: Runtime, email: str, scopes: tuple[str, ...] = BOTH) -> dict[str, str]:
    """Request headers carrying a new API token of an existing user."""
    user_id = user_id_of(runtime, email)
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "fhir test", list(scopes))
    return {"Authorization": f"Bearer {secret}", "Accept": FHIR_JSON}


def token_for(
    runtime: Runtime,
    email: str,
    role: Role,
    *,
    patient_id: str | None = None,
    scopes: tuple[str, ...] = BOTH,
) -> dict[str, str]:
    """Headers of a FHIR client holding a fresh token of a new user `email` with `role`."""
    if role is Role.ADMIN:
        make_admin(runtime, email)
    elif role is Role.INTEGRATION:
        make_integration(runtime, email)
    else:
        make_user(runtime, email, role, patient_id=patient_id)
    return token_of(runtime, email, scopes)


def bearer(
    runtime: Runtime, role: Role, patient_id: str | None = None, scopes: tuple[str, ...] = BOTH
) -> dict[str, str]:
    """`token_for` a new user named after `role`, patient and scopes (one per combination)."""
    email = f"{role}-{patient_id or 'staff'}-{len(scopes)}@clinic.example"
    return token_for(runtime, email, role, patient_id=patient_id, scopes=scopes)


def make_resources(
    runtime: Runtime, patient_id: str, types: Iterable[str], actor: Caller = SYSTEM
) -> dict[str, str]:
    """One stored resource of each type in `patient_id`'s compartment; their ids by type."""
    ids = {}
    for resource_type in types:
        resource = fhir_resource(resource_type, patient_id)
        create_resource(runtime, actor, resource)
        ids[resource_type] = resource["id"]
    return ids


def fhir_resource(resource_type: str, patient_id: str, **extra: Any) -> dict[str, Any]:
    """A small valid resource of `resource_type` in `patient_id`'s compartment (not stored).

    The types the vault stored first have hand-written bodies; every other type is
    built from its model's required elements (`tests.support.minimal`)."""
    subject = {"reference": f"Patient/{patient_id}"}
    code = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}
    coverage = {"reference": "Coverage/c1"}
    bodies: dict[str, dict[str, Any]] = {
        "Patient": {
            "id": patient_id,
            "name": [{"family": "Zebedee", "given": ["Quill"]}],
            "birthDate": "1970-01-02",
        },
        "Practitioner": {"name": [{"family": "Doctor"}]},
        "Organization": {"name": "Clinic"},
        "Encounter": {"status": "finished", "class": {"code": "AMB"}, "subject": subject},
        "Observation": {"status": "final", "code": code, "subject": subject},
        "Condition": {"subject": subject, "code": code},
        "AllergyIntolerance": {"patient": subject},
        "MedicationRequest": {
            "status": "active",
            "intent": "order",
            "subject": subject,
            "medicationCodeableConcept": code,
        },
        "Immunization": {
            "status": "completed",
            "vaccineCode": code,
            "patient": subject,
            "occurrenceDateTime": "2020-01-01",
        },
        "Procedure": {"status": "completed", "subject": subject},
        "DiagnosticReport": {"status": "final", "code": code, "subject": subject},
        "DocumentReference": {
            "status": "current",
            "subject": subject,
            "content": [{"attachment": {"contentType": "text/plain"}}],
        },
        "Coverage": {
            "status": "active",
            "beneficiary": subject,
            "payor": [{"reference": "Organization/o1"}],
        },
        "Claim": {
            "status": "active",
            "type": code,
            "use": "claim",
            "patient": subject,
            "created": "2020-01-01",
            "provider": {"reference": "Organization/o1"},
            "priority": code,
            "insurance": [{"sequence": 1, "focal": True, "coverage": coverage}],
        },
        "ExplanationOfBenefit": {
            "status": "active",
            "type": code,
            "use": "claim",
            "patient": subject,
            "created": "2020-01-01",
            "insurer": {"reference": "Organization/o1"},
            "provider": {"reference": "Organization/o1"},
            "outcome": "complete",
            "insurance": [{"focal": True, "coverage": coverage}],
        },
        "CarePlan": {"status": "active", "intent": "plan", "subject": subject},
        "Goal": {"lifecycleStatus": "active", "description": {"text": "walk"}, "subject": subject},
        "ImagingStudy": {"status": "available", "subject": subject},
    }
    if resource_type in bodies:
        body = {"resourceType": resource_type, **bodies[resource_type]}
    else:
        body = minimal_resource(resource_type, patient_id)
    body = {**body, "id": body.get("id", str(uuid.uuid4()))}
    return {**body, **extra}
