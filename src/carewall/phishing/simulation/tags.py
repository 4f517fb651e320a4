"""Audit tags of phishing simulations."""

from enum import StrEnum


class SimulationTag(StrEnum):
    """What happens to simulation templates, campaigns, their messages and tracked events."""

    TEMPLATE_SAVED = "phishing:template:saved"
    TEMPLATE_TEST_SENT = "phishing:template:test_sent"
    CAMPAIGN_LAUNCHED = "phishing:campaign:launched"
    CAMPAIGN_FINISHED = "phishing:campaign:finished"
    MESSAGE_SENT = "phishing:message:sent"
    MESSAGE_REFUSED = "phishing:message:refused"
    MESSAGE_FAILED = "phishing:message:failed"
    EVENT_RECORDED = "phishing:event:recorded"
    EVENT_RECLASSIFIED = "phishing:event:reclassified"
    MARKER_FORGED = "phishing:marker:forged"
