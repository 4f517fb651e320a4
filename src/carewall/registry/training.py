"""Training: the staff directory, modules and quizzes, assignments, reminders, certificates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from carewall import training
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.training_seed import TRAINING_SEEDER
from carewall.jobs import Job, JobContext
from carewall.registry.domain import Domain
from carewall.training.assignments import NOTIFY_TASK
from carewall.web.nav import EVERYONE_SIGNED_IN, NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _reminders(context: JobContext) -> str | None:
    sent = training.send_reminders(context.runtime, context.caller)
    return f"sent {sent} training reminder(s)" if sent else None


def _annual(context: JobContext) -> str | None:
    made = training.assign_annual(context.runtime, context.caller)
    return f"assigned {made} annual module(s)" if made else None


def _evidence(runtime: Runtime) -> Mapping[str, Any]:
    with runtime.db.sessions() as session:
        return training.queries.training_evidence(session)


def _web() -> WebPart:
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import training as training_routes

    staff = EVERYONE_SIGNED_IN - {Role.PATIENT.value}
    panel = HomePanel("training/_home_panel.html", staff, training_routes.home_panel, 60)
    return WebPart(
        routers=(training_routes.router,),
        home=(panel,),
        nav=(
            NavItem("Training", "/training", EVERYONE_SIGNED_IN - {Role.PATIENT.value}, order=35),
            NavItem("Staff training", "/admin/training", roles(Role.ADMIN), order=36),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import staff
    from carewall.cli import training as training_cli
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("staff", staff.app), ("training", training_cli.app)))


TRAINING = Domain(
    name="training",
    models=("carewall.training.models",),
    data_keys=training.DATA_KEYS,
    tasks=(NOTIFY_TASK,),
    jobs=(
        Job(
            "training.reminders.send",
            _reminders,
            every=timedelta(hours=1),
            description="Remind learners before their training is due and once when overdue.",
        ),
        Job(
            "training.annual.assign",
            _annual,
            every=timedelta(days=1),
            description="Assign the annual modules to everyone without a pass in the last year.",
        ),
    ),
    evidence={"training": _evidence},
    seeders=(TRAINING_SEEDER,),
    web=_web,
    cli=_cli,
)
