"""One helper so every phishing audit entry carries actor, subject and origin alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carewall.audit import DetailValue, Outcome, record_from
from carewall.core.context import Origin, user_ref
from carewall.phishing.tags import PhishingTag

__all__ = ["actor_ref", "audit", "report_ref"]


def audit(
    session: Session,
    tag: PhishingTag,
    origin: Origin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append a phishing event in the caller's transaction (details never hold message text)."""
    record_from(session, tag, origin, actor=actor, subject=subject, outcome=outcome, **details)


def report_ref(report_id: str) -> str:
    """How reports appear as subjects in the trail."""
    return f"mail_report:{report_id}"


def actor_ref(reporter_id: str) -> str:
    """A user id as an audit actor; the report mailbox stays ``mailbox``."""
    return reporter_id if reporter_id == "mailbox" else user_ref(reporter_id)
