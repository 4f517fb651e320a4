"""The only code that changes the risk domain: assessments, answers, register, costs."""

from carewall.risk.services.assessments import (
    ATTACHMENT_KEY,
    AnswerInput,
    ConcurrentChangeError,
    add_attachment,
    attachment_for,
    complete_assessment,
    record_past_assessment,
    save_answer,
    start_assessment,
)
from carewall.risk.services.register import (
    RISK_STATUSES,
    RiskInput,
    add_starter_risks,
    create_risk,
    record_report,
    set_cost_figures,
    update_risk,
)

__all__ = [
    "ATTACHMENT_KEY",
    "RISK_STATUSES",
    "AnswerInput",
    "ConcurrentChangeError",
    "RiskInput",
    "add_attachment",
    "add_starter_risks",
    "attachment_for",
    "complete_assessment",
    "create_risk",
    "record_past_assessment",
    "record_report",
    "save_answer",
    "set_cost_figures",
    "start_assessment",
    "update_risk",
]
