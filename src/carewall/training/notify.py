"""Telling people about new training: the queued task behind every assignment.

People with a Carewall login are sent to `/training`; everyone else gets a
personal, expiring link. Nothing is mailed when outgoing mail is off (the
administrator can hand out links from the training page instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carewall.jobs import JobContext
from carewall.training.content import module
from carewall.training.learning import OPEN, mail_training
from carewall.training.models import TrainingAssignment

_LEADS = {
    "remedial": "You clicked a link in a simulated phishing email. No harm done: it was practice. "
    "A short module will help you spot the real thing next time.",
    "joining": "Welcome! As part of joining, please complete this short security training.",
    "annual": "It is time for your yearly security refresher.",
    "manual": "Your security officer has assigned you a short security training module.",
}


def notify_assignment(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    """Mail the person about one new assignment (once; nothing when mail is off)."""
    runtime = context.runtime
    if not runtime.mail.enabled:
        return None
    with runtime.db.sessions() as session:
        assignment = session.get(TrainingAssignment, str(payload["assignment_id"]))
        if assignment is None or assignment.status != OPEN:
            return None
        member_id, module_id, reason = assignment.member_id, assignment.module_id, assignment.reason
        due = assignment.due_at
    lesson = module(module_id)
    lead = (
        f"{_LEADS.get(reason, _LEADS['manual'])}\n\n"
        f"Module: {lesson.title} (about {lesson.minutes} minutes), due {due:%d %B %Y}."
    )
    mail_training(runtime, context.caller, member_id, f"Security training: {lesson.title}", lead)
    return "mailed 1 training notice"
