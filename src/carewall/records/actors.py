"""Who is asking, and why: the caller description every vault function takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from carewall.audit import AuditEvent, DetailValue, Outcome
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
    `ip` and `user_agent` say where a request came from; every records audit
    entry carries them (`audit_event`).
    """

    user_id: str
    role: Role
    patient_id: str | None = None
    system: bool = False
    channel: str | None = None
    ip: str = ""
    user_agent: str = ""

    def with_origin(self, event: AuditEvent) -> AuditEvent:
        """`event` carrying this actor's request origin (an event built elsewhere)."""
        return dataclasses.replace(event, source_ip=self.ip, user_agent=self.user_agent[:300])

    def audit_event(
        self,
        action: str,
        subject: str,
        details: Mapping[str, DetailValue],
        outcome: Outcome = Outcome.SUCCESS,
    ) -> AuditEvent:
        """An audit event done by this actor, with the request's origin."""
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor=self.user_id,
            subject=subject,
            source_ip=self.ip,
            user_agent=self.user_agent[:300],
            details=details,
        )

    @classmethod
    def system_actor(cls, name: str = "cli") -> Actor:
        """Full-access actor for local administration commands."""
        return cls(user_id=name, role=Role.ADMIN, system=True)
