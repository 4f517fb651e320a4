"""Layer 1: the append-only, hash-chained audit trail every domain records through."""

from carewall.audit.about import record_about, record_all_about
from carewall.audit.chain import VerifyResult, verify
from carewall.audit.checkpoints import (
    DATA_KEYS,
    CheckpointFileError,
    CheckpointMade,
    public_key,
    seal_unkeyed_range,
    write_checkpoint,
    write_due_checkpoint,
)
from carewall.audit.events import AuditEvent, DetailValue, Outcome
from carewall.audit.export import export_fhir
from carewall.audit.queries import (
    AuditEntryView,
    CheckpointView,
    entries_about,
    entries_by_actor,
    entries_with_action,
    entry_at,
    entry_count,
    last_verification,
    latest_checkpoint,
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
from carewall.audit.verification import Problem, TrailReport, verify_and_record, verify_trail

__all__ = [
    "DATA_KEYS",
    "Append",
    "AuditEntryView",
    "AuditEvent",
    "AuditTag",
    "CheckpointFileError",
    "CheckpointMade",
    "CheckpointView",
    "DetailValue",
    "Outcome",
    "Problem",
    "RequestOrigin",
    "TrailReport",
    "VerifyResult",
    "append_deferred",
    "audited_read",
    "deferred_read",
    "entries_about",
    "entries_by_actor",
    "entries_with_action",
    "entry_at",
    "entry_count",
    "export_fhir",
    "last_verification",
    "latest_checkpoint",
    "public_key",
    "recent_entries",
    "record",
    "record_about",
    "record_all",
    "record_all_about",
    "record_from",
    "seal_unkeyed_range",
    "verify",
    "verify_and_record",
    "verify_trail",
    "write_checkpoint",
    "write_due_checkpoint",
]
