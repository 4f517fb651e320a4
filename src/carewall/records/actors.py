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

    `channel` names what the request came through: `session:<id>` for a browser
    session, `token:<id>` for an API token (None: neither, e.g. the CLI). A
    break-glass grant belongs to the browser session that started it and opens
    the record there only, never for the same user's tokens or other sessions.
    """

    user_id: str
    role: Role
    patient_id: str | None = None
    system: bool = False
    channel: str | None = None

    @classmethod
    def system_actor(cls, name: str = "cli") -> Actor:
        """Full-access actor for local administration commands."""
        return cls(user_id=name, role=Role.ADMIN, system=True)
