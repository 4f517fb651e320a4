"""Audit tags of the audit trail itself and of process-wide events."""

from enum import StrEnum


class AuditTag(StrEnum):
    """Events about the trail, keys and the server as a whole."""

    CHAIN_VERIFIED = "audit:chain:verified"
    CHAIN_BROKEN = "audit:chain:broken"
    TRAIL_EXPORTED = "audit:trail:exported"
    KEYS_ROTATED = "core:keys:rotated"
    SERVER_STARTED = "core:server:started"
    DEMO_SEEDED = "core:demo:seeded"
    CSRF_REJECTED = "web:csrf:rejected"
    CHECKPOINT_WRITTEN = "audit:checkpoint:written"
    CHECKPOINT_FILE_FAILED = "audit:checkpoint:file_failed"
    CHECKPOINT_MAIL_FAILED = "audit:checkpoint:mail_failed"
