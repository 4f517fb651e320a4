"""Layer 1: the append-only, hash-chained audit trail every domain records through.

The names below load their modules on first use (PEP 562), so that importing a
pure part of the package, such as `carewall.audit.verify_offline` (standard
library and `cryptography` only), brings in no database layer or settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        AuditFilter,
        AuditPage,
        ChainLink,
        CheckpointView,
        actions_in_use,
        actors_in_use,
        chain_link,
        entries_about,
        entries_after,
        entries_between,
        entries_by_actor,
        entries_with_action,
        entry_at,
        entry_count,
        filtered_bodies,
        filtered_count,
        filtered_page,
        last_verification,
        latest_checkpoint,
        recent_entries,
    )
    from carewall.audit.services import (
        Append,
        append_deferred,
        audited_read,
        deferred_read,
        record,
        record_all,
        record_export,
        record_from,
    )
    from carewall.audit.tags import AuditTag
    from carewall.audit.verification import Problem, TrailReport, verify_and_record, verify_trail

_EXPORTS: dict[str, str] = {
    "AuditFilter": "carewall.audit.queries",
    "AuditPage": "carewall.audit.queries",
    "ChainLink": "carewall.audit.queries",
    "actions_in_use": "carewall.audit.queries",
    "actors_in_use": "carewall.audit.queries",
    "chain_link": "carewall.audit.queries",
    "filtered_bodies": "carewall.audit.queries",
    "filtered_count": "carewall.audit.queries",
    "filtered_page": "carewall.audit.queries",
    "record_export": "carewall.audit.services",
    "record_about": "carewall.audit.about",
    "record_all_about": "carewall.audit.about",
    "VerifyResult": "carewall.audit.chain",
    "verify": "carewall.audit.chain",
    "DATA_KEYS": "carewall.audit.checkpoints",
    "CheckpointFileError": "carewall.audit.checkpoints",
    "CheckpointMade": "carewall.audit.checkpoints",
    "public_key": "carewall.audit.checkpoints",
    "seal_unkeyed_range": "carewall.audit.checkpoints",
    "write_checkpoint": "carewall.audit.checkpoints",
    "write_due_checkpoint": "carewall.audit.checkpoints",
    "AuditEvent": "carewall.audit.events",
    "DetailValue": "carewall.audit.events",
    "Outcome": "carewall.audit.events",
    "export_fhir": "carewall.audit.export",
    "AuditEntryView": "carewall.audit.queries",
    "CheckpointView": "carewall.audit.queries",
    "entries_about": "carewall.audit.queries",
    "entries_after": "carewall.audit.queries",
    "entries_between": "carewall.audit.queries",
    "entries_by_actor": "carewall.audit.queries",
    "entries_with_action": "carewall.audit.queries",
    "entry_at": "carewall.audit.queries",
    "entry_count": "carewall.audit.queries",
    "last_verification": "carewall.audit.queries",
    "latest_checkpoint": "carewall.audit.queries",
    "recent_entries": "carewall.audit.queries",
    "Append": "carewall.audit.services",
    "append_deferred": "carewall.audit.services",
    "audited_read": "carewall.audit.services",
    "deferred_read": "carewall.audit.services",
    "record": "carewall.audit.services",
    "record_all": "carewall.audit.services",
    "record_from": "carewall.audit.services",
    "AuditTag": "carewall.audit.tags",
    "Problem": "carewall.audit.verification",
    "TrailReport": "carewall.audit.verification",
    "verify_and_record": "carewall.audit.verification",
    "verify_trail": "carewall.audit.verification",
}


def __getattr__(name: str) -> Any:
    """Load an exported name's module the first time the name is used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DATA_KEYS",
    "Append",
    "AuditEntryView",
    "AuditEvent",
    "AuditFilter",
    "AuditPage",
    "AuditTag",
    "ChainLink",
    "CheckpointFileError",
    "CheckpointMade",
    "CheckpointView",
    "DetailValue",
    "Outcome",
    "Problem",
    "TrailReport",
    "VerifyResult",
    "actions_in_use",
    "actors_in_use",
    "append_deferred",
    "audited_read",
    "chain_link",
    "deferred_read",
    "entries_about",
    "entries_after",
    "entries_between",
    "entries_by_actor",
    "entries_with_action",
    "entry_at",
    "entry_count",
    "export_fhir",
    "filtered_bodies",
    "filtered_count",
    "filtered_page",
    "last_verification",
    "latest_checkpoint",
    "public_key",
    "recent_entries",
    "record",
    "record_about",
    "record_all",
    "record_all_about",
    "record_export",
    "record_from",
    "seal_unkeyed_range",
    "verify",
    "verify_and_record",
    "verify_trail",
    "write_checkpoint",
    "write_due_checkpoint",
]
