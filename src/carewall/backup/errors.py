"""Errors of the backup domain: each says what went wrong and what the operator can do.

Messages never carry restic's raw output beyond a pack or snapshot id, and
never a password or a repository URL's credentials.
"""

from __future__ import annotations

from carewall.core.errors import CarewallError

RESTIC_INSTALL_HINT = (
    "Install it with `sudo apt-get install restic` (Debian, Ubuntu), `sudo dnf install "
    "restic` (Fedora) or from https://restic.readthedocs.io/en/stable/020_installation.html, "
    "or point CAREWALL_BACKUP_RESTIC at the program."
)


class BackupError(CarewallError):
    """A backup, verification, drill or restore could not be done."""

    code = "backup_failed"
    status = 500


class BackupNotConfiguredError(BackupError):
    """No repository is configured."""

    code = "backup_not_configured"
    status = 409


class ResticMissingError(BackupError):
    """The restic program is not installed (or not where the settings say)."""

    code = "restic_missing"
    status = 503

    def __init__(self, program: str) -> None:
        super().__init__(
            f"The backup engine restic ({program}) is not installed. {RESTIC_INSTALL_HINT}"
        )


class WrongPasswordError(BackupError):
    """The backup password does not open the repository (or the sealed key)."""

    code = "backup_wrong_password"
    status = 403


class RepositoryNotFoundError(BackupError):
    """There is no restic repository at the configured location."""

    code = "backup_repository_missing"
    status = 404


class RepositoryDamagedError(BackupError):
    """restic or the manifest found damage; `problems` names each."""

    code = "backup_damaged"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class BackupBusyError(BackupError):
    """Another backup or an exclusive repository operation is running."""

    code = "backup_busy"
    status = 409


class DiskFullError(BackupError):
    """A disk filled up while staging or writing the backup."""

    code = "backup_disk_full"
    status = 507


class PasswordUnavailableError(BackupError):
    """No backup password: neither CAREWALL_BACKUP_PASSWORD nor a sealed copy."""

    code = "backup_password_missing"
    status = 409


class RestoreTargetError(BackupError):
    """The restore target is not an empty directory (or an empty database)."""

    code = "restore_target_not_empty"
    status = 409
