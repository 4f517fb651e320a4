"""Layer 3: the protected patient-record vault (encrypted FHIR R4 resources).

Callers read through `access` (the one chokepoint that decrypts), change
through `services`, and import through `bundles.importer`; they describe
themselves with the `core.context.Caller` of their request, command or job,
and state a `Purpose` of use with every read.
"""

from carewall.core.context import Purpose
from carewall.records.access.matrix import MATRIX, Action
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
