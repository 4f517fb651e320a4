"""MFA policy per role: required for staff by default, optional for patients.

Only roles of people have a policy: an integration account never signs in
(token only), so there is nothing for a second factor to protect.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.config import Settings
from carewall.identity.models import MfaPolicy
from carewall.identity.roles import Role


def default_required(settings: Settings, role: Role) -> bool:
    """The policy before an administrator changes it."""
    return settings.patient_mfa_required if role is Role.PATIENT else True


def policies(session: Session, settings: Settings) -> dict[Role, bool]:
    """Whether each role must use a second factor."""
    stored = {row.role: row.required for row in session.scalars(select(MfaPolicy))}
    return {
        role: stored.get(role, default_required(settings, role)) for role in Role if role.is_person
    }


def mfa_required(session: Session, settings: Settings, role: str) -> bool:
    """Whether users of `role` must have and use a second factor."""
    row = session.get(MfaPolicy, role)
    return row.required if row is not None else default_required(settings, Role(role))
