"""Layer 3: the protected patient-record vault (encrypted FHIR R4 resources).

Callers read through `access` (the one chokepoint that decrypts), change
through `services`, and import through `importer`; they describe themselves
with an `Actor`.
"""

from carewall.records.actors import Actor, Purpose
from carewall.records.audit_patients import audit_ref, open_patient, patients_named
from carewall.records.errors import (
    BreakGlassRequiredError,
    Issue,
    RecordValidationError,
    ResourceGoneError,
    UnsupportedResourceError,
    VersionConflictError,
)
from carewall.records.events import RecordChanged
from carewall.records.facts import PatientFacts, family_key, patient_facts, self_record
from carewall.records.keys import DATA_KEYS, RecordKeys, prepare_keys
from carewall.records.matrix import MATRIX, Action
from carewall.records.tags import RecordsTag
from carewall.records.validation import SUPPORTED_TYPES

__all__ = [
    "DATA_KEYS",
    "MATRIX",
    "SUPPORTED_TYPES",
    "Action",
    "Actor",
    "BreakGlassRequiredError",
    "Issue",
    "PatientFacts",
    "Purpose",
    "RecordChanged",
    "RecordKeys",
    "RecordValidationError",
    "RecordsTag",
    "ResourceGoneError",
    "UnsupportedResourceError",
    "VersionConflictError",
    "audit_ref",
    "family_key",
    "open_patient",
    "patient_facts",
    "patients_named",
    "prepare_keys",
    "self_record",
]
