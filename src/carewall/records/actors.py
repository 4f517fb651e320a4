"""Who is asking, and why: the caller description every vault function takes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carewall.identity import Role


class Purpose(StrEnum):
    """Purpose of use (HL7 v3 PurposeOfUse codes), recorded with every access."""

    TREATMENT = "TREAT"
    PAYMENT = "HPAYMT"
    OPERATIONS = "HOPERAT"
    PATIENT_REQUEST = "PATRQT"
    EMERGENCY = "ETREAT"
    SYSTEM = "HSYSADMIN"


@dataclass(frozen=True)
class Actor:
    """A caller: user id, role and (for patients) their own Patient logical id.

    `system` marks trusted local tooling (the CLI run by the operator): it has
    full access and is audited under `user_id` (e.g. "cli").
    """

    user_id: str
    role: Role
    patient_id: str | None = None
    system: bool = False

    @classmethod
    def system_actor(cls, name: str = "cli") -> Actor:
        """Full-access actor for local administration commands."""
        return cls(user_id=name, role=Role.ADMIN, system=True)
