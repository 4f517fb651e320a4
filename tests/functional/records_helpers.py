"""Minimal valid FHIR R4 resources of every supported type, and where Synthea data lives."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fhir"
SAMPLE_FILES = (
    "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json",
    "Gustavo_Mejía_59a8543c-e24f-4a01-b28b-47ccde6bc11d.json",
)


def synthea_files(count: int = 2) -> list[Path]:
    """A few small Synthea bundles, or skip the test when the shared data is absent."""
    files = [SYNTHEA / name for name in SAMPLE_FILES[:count]]
    if not all(f.exists() for f in files):
        pytest.skip(f"Synthea bundles not found in {SYNTHEA} (shared reference data)")
    return files


def minimal(resource_type: str, patient_id: str, **extra: Any) -> dict[str, Any]:
    """A small valid resource of `resource_type` in `patient_id`'s compartment."""
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
    body = {"resourceType": resource_type, "id": str(uuid.uuid4()), **bodies[resource_type]}
    return {**body, **extra}


def assert_absent_from_vault(connection: Connection, secrets: list[str]) -> None:
    """No secret appears in any column of any row of the vault's tables.

    Text columns are searched case-insensitively for every secret. Ciphertexts
    are random bytes, in which a short string turns up by chance now and then,
    so they are searched only for secrets of 8 characters or more: plaintext
    stored there would be the whole JSON, long identifiers and addresses included.
    """
    texts: list[str] = []
    blobs: list[bytes] = []
    for table in ("fhir_resources", "fhir_search_index", "break_glass_grants"):
        for row in connection.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                if isinstance(value, bytes | memoryview):
                    blobs.append(bytes(value))
                else:
                    texts.append(str(value).lower())
    stored_text, stored_bytes = "\n".join(texts), b"\n".join(blobs)
    for secret in secrets:
        assert secret.lower() not in stored_text, "a plain-text value is in a vault column"
        if len(secret) >= 8:
            assert secret.encode() not in stored_bytes, "a plain-text value is in a ciphertext"
