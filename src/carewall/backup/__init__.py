"""Layer 2: encrypted, verified backups with a restore drill (restic is the engine).

A backup is one restic snapshot of a staging directory: a consistent copy of
the database (SQLite online backup API, or `pg_dump` of one exported
PostgreSQL snapshot), the master key sealed under the backup password, the
settings without secrets, and a manifest with the SHA-256 of every part, the
Carewall version and the audit chain head. Restoring needs only the
repository and the password. The drill proves it on a schedule; the records
domain checks a sample of records decrypts through the `DrillCheck` hook.
docs/backups.md is the operator's guide.
"""

from carewall.backup.errors import (
    RESTIC_INSTALL_HINT,
    BackupBusyError,
    BackupError,
    BackupNotConfiguredError,
    DiskFullError,
    PasswordUnavailableError,
    RepositoryDamagedError,
    RepositoryNotFoundError,
    ResticMissingError,
    RestoreTargetError,
    WrongPasswordError,
)
from carewall.backup.events import BackupAlertRaised, DrillCheck, DrillCheckResult
from carewall.backup.sealing import SEALING_PURPOSE
from carewall.backup.tags import BackupTag

# Data-key purposes the backup domain uses (created up front by the registry).
DATA_KEYS = (SEALING_PURPOSE,)

__all__ = [
    "DATA_KEYS",
    "RESTIC_INSTALL_HINT",
    "BackupAlertRaised",
    "BackupBusyError",
    "BackupError",
    "BackupNotConfiguredError",
    "BackupTag",
    "DiskFullError",
    "DrillCheck",
    "DrillCheckResult",
    "PasswordUnavailableError",
    "RepositoryDamagedError",
    "RepositoryNotFoundError",
    "ResticMissingError",
    "RestoreTargetError",
    "WrongPasswordError",
]
