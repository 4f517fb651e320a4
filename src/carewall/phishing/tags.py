"""Audit tags of the phishing domain."""

from enum import StrEnum


class PhishingTag(StrEnum):
    """What happens to mail people analyze or report."""

    MAIL_ANALYZED = "phishing:mail:analyzed"
    REPORT_RECEIVED = "phishing:report:received"
    REPORT_DECIDED = "phishing:report:decided"
    REPORT_VIEWED = "phishing:report:viewed"
    MAILBOX_POLLED = "phishing:mailbox:polled"
    REPORTS_SEALED = "phishing:reports:sealed"
