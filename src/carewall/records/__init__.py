"""Layer 3: the protected patient-record vault (encrypted FHIR R4 resources).

Callers read through `access` (the one chokepoint that decrypts), change
through `services`, and import through `importer`; they describe themselves
with an `Actor`.
"""

from carewall.records.access.matrix import MATRIX, Action
from carewall.records.actors import Actor, Purpose
from carewall.records.errors import (
    BreakGlassRequiredError,
    Issue,
    RecordValidationError,
    ResourceGoneError,
    UnsupportedResourceError,
    VersionConflictError,
)
from carewall.records.store.keys import DATA_KEYS, prepare_keys
from carewall.records.store.validation import SUPPORTED_TYPES
from carewall.records.tags import RecordsTag

__all__ = [
    "DATA_KEYS",
    "MATRIX",
    "SUPPORTED_TYPES",
    "Action",
    "Actor",
    "BreakGlassRequiredError",
    "Issue",
    "Purpose",
    "RecordValidationError",
    "RecordsTag",
    "ResourceGoneError",
    "UnsupportedResourceError",
    "VersionConflictError",
    "prepare_keys",
]
