"""Audit tags of the record vault (details carry ids, counts and types, never PHI)."""

from enum import StrEnum


class RecordsTag(StrEnum):
    """Every access to, and change of, patient records."""

    RESOURCE_READ = "records:resource:read"
    RESOURCE_CREATED = "records:resource:created"
    RESOURCE_UPDATED = "records:resource:updated"
    RESOURCE_DELETED = "records:resource:deleted"
    HISTORY_READ = "records:history:read"
    SEARCH_PERFORMED = "records:search:performed"
    IMPORT_COMPLETED = "records:import:completed"
    IMPORT_FAILED = "records:import:failed"
    EXPORT_COMPLETED = "records:export:completed"
    EXPORT_REQUESTED = "records:export:requested"
    EXPORT_DOWNLOADED = "records:export:downloaded"
    EXPORT_CANCELLED = "records:export:cancelled"
    EXPORT_FAILED = "records:export:failed"
    BUNDLE_PROCESSED = "records:bundle:processed"
    BUNDLE_FAILED = "records:bundle:failed"
    ACCESS_DENIED = "records:access:denied"
    COMPARTMENT_RESTRICTED = "records:compartment:restricted"
    EMERGENCY_STARTED = "records:emergency:started"
    EMERGENCY_STOPPED = "records:emergency:stopped"
    REASONS_SEALED = "records:reasons:sealed"
    INDEX_REBUILT = "records:index:rebuilt"
    PATIENT_LOOKED_UP = "records:patient:looked-up"
    RESTRICTION_LIFTED = "records:compartment:unrestricted"


class PortalTag(StrEnum):
    """Audit tags of the patient portal and the access report (HIPAA accounting)."""

    ACCESS_FLAGGED = "records:access:flagged"
    ACCOUNTING_VIEWED = "records:accounting:viewed"
    FLAG_VIEWED = "records:flag:viewed"
    FLAG_RESOLVED = "records:flag:resolved"
