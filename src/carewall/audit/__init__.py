"""Layer 1: the append-only, hash-chained audit trail every domain records through."""

from carewall.audit.about import record_about, record_all_about
from carewall.audit.chain import VerifyResult, verify
from carewall.audit.events import AuditEvent, DetailValue, Outcome
from carewall.audit.queries import (
    AuditEntryView,
    entries_about,
    entries_after,
    entries_between,
    entries_by_actor,
    entries_with_action,
    entry_at,
    entry_count,
    last_verification,
    recent_entries,
)
from carewall.audit.services import (
    Append,
    RequestOrigin,
    append_deferred,
    audited_read,
    deferred_read,
    record,
    record_all,
    record_from,
)
from carewall.audit.tags import AuditTag

__all__ = [
    "Append",
    "AuditEntryView",
    "AuditEvent",
    "AuditTag",
    "DetailValue",
    "Outcome",
    "RequestOrigin",
    "VerifyResult",
    "append_deferred",
    "audited_read",
    "deferred_read",
    "entries_about",
    "entries_after",
    "entries_between",
    "entries_by_actor",
    "entries_with_action",
    "entry_at",
    "entry_count",
    "last_verification",
    "recent_entries",
    "record",
    "record_about",
    "record_all",
    "record_all_about",
    "record_from",
    "verify",
]
