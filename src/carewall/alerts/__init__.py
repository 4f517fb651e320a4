"""Layer 4: detectors over the audit trail and the alert workflow.

The detectors read new audit entries on the job runner (`schedule`), except
the mass-change detector, which runs on the request path through records'
`RecordChanged` hook (`masschange`). Alerts are opened, reviewed and resolved
through `services`; read through `queries`.
"""

from carewall.alerts.detectors import CATALOGUE, SEVERITY_ORDER, Severity
from carewall.alerts.masschange import on_record_changed
from carewall.alerts.schemas import AlertPublic
from carewall.alerts.services import Resolution, Status
from carewall.alerts.tags import AlertsTag

__all__ = [
    "CATALOGUE",
    "DATA_KEYS",
    "SEVERITY_ORDER",
    "AlertPublic",
    "AlertsTag",
    "Resolution",
    "Severity",
    "Status",
    "on_record_changed",
]

# The alerts domain encrypts nothing of its own.
DATA_KEYS: tuple[str, ...] = ()
