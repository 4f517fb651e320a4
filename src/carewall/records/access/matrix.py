"""The permission matrix: role x resource type x action, as data in one place.

Each role is granted whole categories of types (`categories`: what a type
reveals), plus the odd single type a job needs (the front desk keeps a
patient's Coverage; billing reads the Encounter a claim bills for). `MATRIX`
is the result, per type, which every check reads (`allowed`). Patients reach
only their own compartment (enforced in `guard`), and restricted compartments
need break-glass on top of this matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from carewall.identity import Role
from carewall.records.access.categories import (
    CATEGORY_OF,
    PATIENT_OPEN_TYPES,
    PUBLIC_TYPES,
    Category,
    types_in,
)


class Action(StrEnum):
    """What a caller does with a resource."""

    READ = "read"  # read, vread, history, search, export
    WRITE = "write"  # create, update, delete


@dataclass(frozen=True)
class Grant:
    """What one role may do: whole categories, and single types beyond them."""

    read: frozenset[Category]
    write: frozenset[Category] = frozenset()
    read_types: frozenset[str] = field(default_factory=frozenset)
    write_types: frozenset[str] = field(default_factory=frozenset)

    def types(self, action: Action) -> frozenset[str]:
        """The resource types this grant opens for `action`."""
        if action is Action.READ:
            return types_in(*self.read) | self.read_types
        return types_in(*self.write) | self.write_types


C = Category
# Reference data every staff member may read (not patient data).
_SHARED = frozenset({C.DIRECTORY, C.CONFORMANCE})
GRANTS: Mapping[Role, Grant] = {
    Role.CLINICIAN: Grant(
        read=_SHARED | {C.DEMOGRAPHICS, C.CLINICAL, C.WORKFLOW},
        write=frozenset({C.DEMOGRAPHICS, C.CLINICAL, C.WORKFLOW}),
    ),
    Role.FRONT_DESK: Grant(
        read=_SHARED | {C.DEMOGRAPHICS, C.WORKFLOW},
        write=frozenset({C.DEMOGRAPHICS, C.WORKFLOW}),
        read_types=frozenset({"Coverage"}),
        write_types=frozenset({"Coverage"}),
    ),
    Role.BILLING: Grant(
        read=_SHARED | {C.DEMOGRAPHICS, C.FINANCIAL},
        write=frozenset({C.FINANCIAL}),
        read_types=frozenset({"Encounter"}),
    ),
    # Security officer and auditor: no PHI by default (break-glass is for clinicians).
    Role.ADMIN: Grant(read=_SHARED | {C.INFRASTRUCTURE}, write=_SHARED | {C.INFRASTRUCTURE}),
    Role.AUDITOR: Grant(read=_SHARED),
    # Patients read everything in their own compartment and write nothing (yet).
    Role.PATIENT: Grant(read=frozenset(Category)),
    # System feeds (interface engine, nightly load): token-only, every type.
    Role.INTEGRATION: Grant(read=frozenset(Category), write=frozenset(Category)),
}

MATRIX: Mapping[Role, Mapping[Action, frozenset[str]]] = {
    role: {action: grant.types(action) for action in Action} for role, grant in GRANTS.items()
}

# The groups as sets of types, for code that asks what a type is.
DEMOGRAPHICS = types_in(C.DEMOGRAPHICS)
DIRECTORY = types_in(C.DIRECTORY)
FINANCIAL = types_in(C.FINANCIAL)
CLINICAL = types_in(C.CLINICAL)
ALL_TYPES = frozenset(CATEGORY_OF)
_NONE: frozenset[str] = frozenset()

BREAK_GLASS_ROLES = frozenset({Role.CLINICIAN})
# Roles whose writes pass a restriction (a feed delivers results for restricted
# patients too); their reads of a restricted compartment are still refused.
RESTRICTION_WRITERS = frozenset({Role.INTEGRATION})

__all__ = [
    "ALL_TYPES",
    "BREAK_GLASS_ROLES",
    "CLINICAL",
    "DEMOGRAPHICS",
    "DIRECTORY",
    "FINANCIAL",
    "MATRIX",
    "PATIENT_OPEN_TYPES",
    "PUBLIC_TYPES",
    "RESTRICTION_WRITERS",
    "Action",
    "Grant",
    "allowed",
]


def allowed(role: Role | None, action: Action, resource_type: str) -> bool:
    """Whether `role` may `action` resources of `resource_type` at all (no role: never)."""
    return role is not None and resource_type in MATRIX.get(role, {}).get(action, _NONE)
