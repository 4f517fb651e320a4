"""Who may do what with the risk assessment: the one place that decides.

The security officer (admin) edits assessments, the register and the cost
figures; the auditor reads everything, including evidence attachments;
nobody else sees the assessment (it describes the practice's weaknesses).
Trusted tooling (CLI, jobs) acts as an editor and is still audited.
"""

from __future__ import annotations

from carewall.core.context import Caller
from carewall.core.errors import PermissionDeniedError
from carewall.core.roles import Role

EDITORS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.AUDITOR})


def can_edit(caller: Caller) -> bool:
    """Whether the caller may change assessments, the register and cost figures."""
    return caller.system or caller.role in EDITORS


def require_editor(caller: Caller) -> None:
    """Refuse anyone but the security officer (or trusted tooling)."""
    if not can_edit(caller):
        raise PermissionDeniedError("Only the security officer can change the risk assessment.")


def require_reader(caller: Caller) -> None:
    """Refuse anyone who may not read the assessment."""
    if not (caller.system or caller.role in READERS):
        raise PermissionDeniedError("Your role does not give access to the risk assessment.")
