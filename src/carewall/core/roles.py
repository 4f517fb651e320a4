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
    def is_person(self) -> bool:
        """Someone who signs in to the pages: every role but `integration`.

        An integration account is a system feed (an interface engine, a nightly
        load): it holds API tokens only, has no password, factor or session, is
        never invited, trained, phished or counted in MFA coverage.
        """
        return self is not Role.INTEGRATION

    @property
    def is_staff(self) -> bool:
        """A person working at the practice: every person but patients."""
        return self.is_person and self is not Role.PATIENT

    @property
    def reads_by_matrix(self) -> bool:
        """Reaches records through the permission matrix, not one compartment: staff and
        integration feeds (a patient reaches their own compartment only)."""
        return self is not Role.PATIENT


STAFF_ROLES = frozenset(role for role in Role if role.is_staff)
PERSON_ROLES = frozenset(role for role in Role if role.is_person)
ALL_ROLES = frozenset(Role)
