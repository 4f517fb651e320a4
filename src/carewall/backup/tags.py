"""Audit tags of the backup domain (details carry snapshot ids, sizes, counts; never PHI)."""

from enum import StrEnum


class BackupTag(StrEnum):
    """Backups, verifications, restore drills, restores and the alerts they raise."""

    REPOSITORY_INITIALISED = "backup:repository:initialised"
    SNAPSHOT_CREATED = "backup:snapshot:created"
    SNAPSHOT_FAILED = "backup:snapshot:failed"
    SNAPSHOT_REQUESTED = "backup:snapshot:requested"
    SNAPSHOTS_PRUNED = "backup:snapshots:pruned"
    PRUNE_FAILED = "backup:prune:failed"
    VERIFY_REQUESTED = "backup:verify:requested"
    REPOSITORY_VERIFIED = "backup:repository:verified"
    REPOSITORY_DAMAGED = "backup:repository:damaged"
    DRILL_REQUESTED = "backup:drill:requested"
    DRILL_PASSED = "backup:drill:passed"
    DRILL_FAILED = "backup:drill:failed"
    RESTORE_COMPLETED = "backup:restore:completed"
    ALERT_RAISED = "backup:alert:raised"
    ALERT_RESOLVED = "backup:alert:resolved"
