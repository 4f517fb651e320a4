"""Audit tags of the alerts domain (details carry ids, detector names, counts; never PHI)."""

from enum import StrEnum


class AlertsTag(StrEnum):
    """Alerts opened by the detectors, and every step of their review."""

    ALERT_OPENED = "alerts:alert:opened"
    ALERT_ACKNOWLEDGED = "alerts:alert:acknowledged"
    ALERT_ASSIGNED = "alerts:alert:assigned"
    ALERT_NOTED = "alerts:alert:noted"
    ALERT_RESOLVED = "alerts:alert:resolved"
    ALERT_REOPENED = "alerts:alert:reopened"
    MASS_CHANGE_STOPPED = "alerts:mass_change:stopped"
    DIGEST_SENT = "alerts:digest:sent"
