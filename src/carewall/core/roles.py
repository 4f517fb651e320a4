"""Roles: one per user, checked server-side on every route."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person does at the practice, and so what Carewall lets them reach."""

    ADMIN = "admin"  # security officer: users, policies, audit; no clinical data by default
    CLINICIAN = "clinician"
    FRONT_DESK = "front_desk"  # demographics and scheduling only
    BILLING = "billing"
    AUDITOR = "auditor"  # audit trail, no PHI
    PATIENT = "patient"  # portal, own record only
    INTEGRATION = "integration"

    @property
    def label(self) -> str:
        """Human name for pages."""
        return self.value.replace("_", " ").capitalize()

    @property
    def is_staff(self) -> bool:
        """Everyone but patients."""
        return self is not Role.PATIENT


STAFF_ROLES = frozenset(role for role in Role if role.is_staff)
ALL_ROLES = frozenset(Role)
