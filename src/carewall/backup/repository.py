"""Which repository, which password, which restic: resolved once from the settings.

The password comes from `CAREWALL_BACKUP_PASSWORD` when set, otherwise from
the sealed copy `carewall backup init` left in the data directory (for
scheduled runs). A restore never comes here: it has no data directory yet.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from carewall.backup.errors import (
    BackupBusyError,
    BackupError,
    BackupNotConfiguredError,
    DiskFullError,
    PasswordUnavailableError,
    ResticMissingError,
)
from carewall.backup.restic import ResticStore, mask_location
from carewall.backup.sealing import stored_password
from carewall.core.config import Settings
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime

DEMO_REPOSITORY = "demo-backups"
STAGING = "backup-staging"
CACHE = "backup-cache"


def repository_of(settings: Settings) -> str:
    """`CAREWALL_BACKUP_REPO`, or in demo mode a repository inside the data directory."""
    if settings.backup_repo:
        return settings.backup_repo
    return str(settings.home / DEMO_REPOSITORY) if settings.demo else ""


def is_configured(settings: Settings) -> bool:
    """Whether backups have somewhere to go."""
    return bool(repository_of(settings))


def location_of(settings: Settings) -> str:
    """The repository for people to read (credentials hidden), or empty."""
    return mask_location(repository_of(settings))


def restic_available(settings: Settings) -> bool:
    """Whether the restic program can be found."""
    return shutil.which(settings.backup_restic) is not None


def password_for(runtime: Runtime) -> str:
    """The backup password: the environment's, or the sealed copy in the data directory."""
    settings = runtime.settings
    if settings.backup_password is not None and settings.backup_password.get_secret_value():
        return settings.backup_password.get_secret_value()
    stored = stored_password(runtime.keys, settings.home)
    if stored is None:
        raise PasswordUnavailableError(
            "No backup password: set CAREWALL_BACKUP_PASSWORD, or run `carewall backup init` "
            "to create the repository and keep a sealed copy for scheduled runs."
        )
    return stored


def store_for(settings: Settings, password: str, *, cached: bool = True) -> ResticStore:
    """The restic store for these settings and password (restic must be installed)."""
    repository = repository_of(settings)
    if not repository:
        raise BackupNotConfiguredError(
            "Backups are not set up: set CAREWALL_BACKUP_REPO to a path or restic repository "
            "URL, then run `carewall backup init`."
        )
    if not restic_available(settings):
        raise ResticMissingError(settings.backup_restic)
    return ResticStore(
        repository,
        password,
        program=settings.backup_restic,
        cache_dir=settings.home / CACHE if cached else None,
        limit_upload_kib=settings.backup_limit_upload_kib,
    )


def open_store(runtime: Runtime) -> ResticStore:
    """The configured repository, opened with the configured password."""
    store_for(runtime.settings, "")  # configuration and restic first: the clearer errors
    return store_for(runtime.settings, password_for(runtime))


@contextmanager
def backup_lock(home: Path, *, wait: bool = False) -> Iterator[None]:
    """One repository job (backup, check, drill, prune) at a time in this data directory.

    A backup and a drill share its staging area and scratch directories (a killed
    one's leftovers are cleared by the next), and restic refuses a prune while
    anything else holds the repository: two web workers' job runners that started
    the daily backup and the daily prune at the same moment failed the prune, with
    an alert, every day. `wait` waits for the job holding it (the demo's own
    backups); otherwise a busy repository raises `BackupBusyError` at once, before
    the job starts anything (the job runner runs it again a little later).
    """
    fd = os.open(home / "backup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupBusyError(
                "Another backup job (a backup, check, drill or prune) is using the "
                "repository; try again when it ends."
            ) from exc
        yield
    finally:
        os.close(fd)


def as_backup_error(exc: BaseException) -> CarewallError:
    """A domain error for anything a backup step raised (a full disk is named as such)."""
    if isinstance(exc, CarewallError):
        return exc
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return DiskFullError("The disk filled up while the backup was being written.")
        return BackupError(f"The backup could not write its files: {exc.strerror or exc}.")
    return BackupError(f"The backup stopped on an unexpected error ({type(exc).__name__}).")
