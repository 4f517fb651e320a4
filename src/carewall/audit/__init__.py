"""Layer 1: the append-only, hash-chained audit trail every domain records through."""

from carewall.audit.chain import VerifyResult, verify
from carewall.audit.events import AuditEvent, Outcome
from carewall.audit.queries import recent_entries
from carewall.audit.services import record
from carewall.audit.tags import AuditTag

__all__ = [
    "AuditEvent",
    "AuditTag",
    "Outcome",
    "VerifyResult",
    "recent_entries",
    "record",
    "verify",
]
