"""The job runner's own commands, admin page and housekeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from carewall.core.roles import Role
from carewall.jobs import Job, JobContext, prune_history
from carewall.registry.domain import Domain
from carewall.web.nav import NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _prune(context: JobContext) -> str | None:
    removed = prune_history(context.runtime)
    return f"removed {removed} finished run(s) and task(s) older than 30 days" if removed else None


def _web() -> WebPart:
    from carewall.web.parts import WebPart
    from carewall.web.routes import jobs

    return WebPart(
        routers=(jobs.router,), nav=(NavItem("Jobs", "/admin/jobs", roles(Role.ADMIN), 60),)
    )


def _cli() -> CliPart:
    from carewall.cli import jobs
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("jobs", jobs.app),))


JOBS = Domain(
    name="jobs",
    models=("carewall.jobs.models",),
    jobs=(
        Job(
            "jobs.history.prune",
            _prune,
            every=timedelta(days=1),
            description="Forget job runs and finished tasks older than 30 days.",
        ),
    ),
    web=_web,
    cli=_cli,
)
