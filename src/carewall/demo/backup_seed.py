"""Demo seeders for backups: a local repository, one backup, one verification, one drill.

The repository is created before the server starts (its scheduled jobs need
it); the backup, verification and drill run last among the later steps, so
the demo's backup holds every other domain's demo data.

In demo mode an empty CAREWALL_BACKUP_REPO means a repository inside the data
directory (`demo-backups`), so the demo shows a real, restorable backup
without configuration. Its password is generated and kept only sealed in the
data directory: fine for a demo, never for a practice (docs/backups.md).
When restic is not installed the step does nothing and the backup page says
how to install it.
"""

from __future__ import annotations

import logging

from carewall.backup import BackupError
from carewall.backup.repository import is_configured, restic_available
from carewall.backup.services import (
    create_backup,
    drill_backups,
    init_repository,
    verify_backups,
)
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder

log = logging.getLogger(__name__)


def _ready(runtime: Runtime) -> bool:
    settings = runtime.settings
    if not is_configured(settings):
        log.info("demo: no backup repository configured; the backup page shows how to set one up")
        return False
    if not restic_available(settings):
        log.info("demo: restic is not installed; the backup page says how to install it")
        return False
    return True


def _repository(runtime: Runtime) -> None:
    """Create the repository before the server starts, so its scheduled backups find it."""
    if not _ready(runtime):
        return
    try:
        init_repository(runtime, Caller.cli("demo"))
    except BackupError as exc:
        log.warning("demo: the demo backup repository was not created: %s", exc.message)


def _backups(runtime: Runtime) -> None:
    if not _ready(runtime):
        return
    caller = Caller.cli("demo")
    try:
        # The server's runner takes its first backups meanwhile: wait for each's turn.
        create_backup(runtime, caller, trigger="demo", wait=True)
        verify_backups(runtime, caller, full=False, trigger="demo", wait=True)
        drill_backups(runtime, caller, trigger="demo", wait=True)
    except BackupError as exc:
        log.warning("demo: the demo backup did not complete: %s", exc.message)


BACKUP_REPOSITORY_SEEDER = Seeder("backup-repository", _repository)
BACKUP_SEEDER = Seeder("backup-demo", _backups, later=True)
