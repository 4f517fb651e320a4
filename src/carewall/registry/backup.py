"""Backups: restic repositories, the schedule, the restore drill, the admin's backup page.

The composition root also wires what `backup` may not reach itself: when a
backup alert opens, the security officers (identity's active administrators)
are named as its recipients and get a notice on their account page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from carewall import backup
from carewall.backup.queries import evidence
from carewall.backup.schedule import JOBS, TASKS
from carewall.core.clock import utcnow
from carewall.core.hooks import Hooks
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.backup_seed import BACKUP_REPOSITORY_SEEDER, BACKUP_SEEDER
from carewall.identity import notices, queries
from carewall.registry.domain import Domain
from carewall.web.nav import NavItem, roles

if TYPE_CHECKING:
    from collections.abc import Mapping

    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _security_officers(session: Session, event: backup.BackupAlertRaised) -> None:
    """Every active administrator is a security officer: a notice now, a mail after commit."""
    admins = [
        user.email
        for user in queries.users_overview(session)
        if user.role is Role.ADMIN and user.status == "active"
    ]
    event.recipients.extend(admins)
    notices.notify_admins(session, f"Backups: {event.message}", utcnow(), level="error")


def _subscribe(hooks: Hooks) -> None:
    hooks.subscribe(backup.BackupAlertRaised, _security_officers)


def _evidence(runtime: Runtime) -> Mapping[str, Any]:
    with runtime.db.sessions() as session:
        return evidence(session, runtime.settings, utcnow())


def _web() -> WebPart:
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import backups

    admin = roles(Role.ADMIN)
    return WebPart(
        routers=(backups.router,),
        nav=(NavItem("Backups", "/admin/backups", admin, order=61),),
        home=(HomePanel("backups/_home_panel.html", admin, backups.home_panel, 30),),
    )


def _cli() -> CliPart:
    from carewall.cli import backup as backup_cli
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("backup", backup_cli.app),))


BACKUP = Domain(
    name="backup",
    models=("carewall.backup.models",),
    data_keys=backup.DATA_KEYS,
    jobs=JOBS,
    tasks=TASKS,
    subscribe=_subscribe,
    evidence={"backup": _evidence},
    seeders=(BACKUP_REPOSITORY_SEEDER, BACKUP_SEEDER),
    web=_web,
    cli=_cli,
)
