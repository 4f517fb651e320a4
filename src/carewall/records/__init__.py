"""Layer 3: the protected patient-record vault (encrypted FHIR R4 resources).

Callers read through `access` (the one chokepoint that decrypts), change
through `services`, and import through `bundles.importer`; they describe
themselves with the `core.context.Caller` of their request, command or job,
and state a `Purpose` of use with every read.
"""

from carewall.core.context import Purpose
from carewall.records.access.audit_patients import audit_ref, open_patient, patients_named
from carewall.records.access.matrix import MATRIX, Action
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
from carewall.records.store.keys import DATA_KEYS, RecordKeys, prepare_keys
from carewall.records.store.validation import SUPPORTED_TYPES
from carewall.records.tags import RecordsTag

__all__ = [
    "DATA_KEYS",
    "MATRIX",
    "SUPPORTED_TYPES",
    "Action",
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
