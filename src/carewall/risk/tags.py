"""Audit tags of the risk assessment, the risk register and the insurance report."""

from enum import StrEnum


class RiskTag(StrEnum):
    """Every change to an assessment, the register or the cost figures, and every report made."""

    ASSESSMENT_STARTED = "risk:assessment:started"
    ASSESSMENT_COMPLETED = "risk:assessment:completed"
    ASSESSMENT_RECORDED = "risk:assessment:recorded"
    ANSWER_SAVED = "risk:answer:saved"
    ANSWER_OVERRIDDEN = "risk:answer:overridden"
    ATTACHMENT_ADDED = "risk:attachment:added"
    ATTACHMENT_DOWNLOADED = "risk:attachment:downloaded"
    RISK_CREATED = "risk:risk:created"
    RISK_UPDATED = "risk:risk:updated"
    COSTS_UPDATED = "risk:costs:updated"
    REPORT_GENERATED = "risk:report:generated"
