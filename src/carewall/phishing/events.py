"""One helper so every phishing audit entry carries actor, subject and origin alike."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, Outcome, record
from carewall.phishing.tags import PhishingTag


class RequestOrigin(Protocol):
    """Where a request came from; ``carewall.identity.requests.Origin`` fits."""

    @property
    def ip(self) -> str: ...

    @property
    def user_agent(self) -> str: ...


def audit(
    session: Session,
    tag: PhishingTag,
    origin: RequestOrigin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append a phishing event in the caller's transaction (details never hold message text)."""
    record(
        session,
        AuditEvent(
            action=tag,
            outcome=outcome,
            actor=actor,
            subject=subject,
            source_ip=origin.ip,
            user_agent=origin.user_agent[:300],
            details=details,
        ),
    )


def report_ref(report_id: str) -> str:
    """How reports appear as subjects in the trail."""
    return f"mail_report:{report_id}"


def actor_ref(reporter_id: str) -> str:
    """A user id as an audit actor; the report mailbox stays ``mailbox``."""
    return reporter_id if reporter_id == "mailbox" else f"user:{reporter_id}"
