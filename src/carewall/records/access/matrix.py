"""The permission matrix: role x resource type x action, as data in one place.

Resource types are grouped by what they reveal (demographics, clinical,
financial, directory); each role lists the types it may read and write.
Patients reach only their own compartment (enforced in `access`), and
restricted compartments need break-glass on top of this matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from carewall.identity import Role


class Action(StrEnum):
    """What a caller does with a resource."""

    READ = "read"  # read, vread, history, search, export
    WRITE = "write"  # create, update, delete


DEMOGRAPHICS = frozenset({"Patient"})
DIRECTORY = frozenset({"Practitioner", "Organization"})  # not PHI: staff and places
FINANCIAL = frozenset({"Coverage", "Claim", "ExplanationOfBenefit"})
CLINICAL = frozenset(
    {
        "AllergyIntolerance",
        "CarePlan",
        "Condition",
        "DiagnosticReport",
        "DocumentReference",
        "Encounter",
        "Goal",
        "ImagingStudy",
        "Immunization",
        "MedicationRequest",
        "Observation",
        "Procedure",
    }
)
ALL_TYPES = DEMOGRAPHICS | DIRECTORY | FINANCIAL | CLINICAL
_NONE: frozenset[str] = frozenset()

MATRIX: Mapping[Role, Mapping[Action, frozenset[str]]] = {
    Role.CLINICIAN: {
        Action.READ: DEMOGRAPHICS | DIRECTORY | CLINICAL,
        Action.WRITE: DEMOGRAPHICS | CLINICAL,
    },
    Role.FRONT_DESK: {
        Action.READ: DEMOGRAPHICS | DIRECTORY | {"Coverage"},
        Action.WRITE: DEMOGRAPHICS | {"Coverage"},
    },
    Role.BILLING: {
        Action.READ: DEMOGRAPHICS | DIRECTORY | FINANCIAL | {"Encounter"},
        Action.WRITE: FINANCIAL,
    },
    # Security officer and auditor: no PHI by default (break-glass is for clinicians).
    Role.ADMIN: {Action.READ: DIRECTORY, Action.WRITE: DIRECTORY},
    Role.AUDITOR: {Action.READ: DIRECTORY, Action.WRITE: _NONE},
    # Patients read everything in their own compartment and write nothing (yet).
    Role.PATIENT: {Action.READ: ALL_TYPES, Action.WRITE: _NONE},
    # System feeds (interface engine, nightly load): token-only, every type.
    Role.INTEGRATION: {Action.READ: ALL_TYPES, Action.WRITE: ALL_TYPES},
}

BREAK_GLASS_ROLES = frozenset({Role.CLINICIAN})
# Roles whose writes pass a restriction (a feed delivers results for restricted
# patients too); their reads of a restricted compartment are still refused.
RESTRICTION_WRITERS = frozenset({Role.INTEGRATION})


def allowed(role: Role | None, action: Action, resource_type: str) -> bool:
    """Whether `role` may `action` resources of `resource_type` at all (no role: never)."""
    return role is not None and resource_type in MATRIX.get(role, {}).get(action, _NONE)
