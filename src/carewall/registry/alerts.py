"""Alerts: the detectors over the audit trail, the mass-change hook, the alert workflow."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from carewall import alerts
from carewall.alerts.queries import evidence
from carewall.alerts.schedule import JOBS
from carewall.core.clock import utcnow
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.alerts_seed import ALERTS_SEEDER
from carewall.records import RecordChanged
from carewall.registry.domain import Domain
from carewall.web.nav import NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _evidence(runtime: Runtime) -> Mapping[str, Any]:
    with runtime.db.sessions() as session:
        return evidence(session, utcnow())


def _web() -> WebPart:
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import alerts as alert_routes

    admin = roles(Role.ADMIN)
    return WebPart(
        routers=(alert_routes.router, alert_routes.api),
        nav=(NavItem("Alerts", "/admin/alerts", admin, order=58),),
        home=(HomePanel("alerts/_home_panel.html", admin, alert_routes.home_panel),),
    )


def _cli() -> CliPart:
    from carewall.cli import alerts as alerts_cli
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("alerts", alerts_cli.app),))


def _subscribe(runtime: Runtime) -> None:
    """The mass-change handler, bound to this runtime's settings (its limit and window)."""
    runtime.hooks.subscribe(RecordChanged, partial(alerts.on_record_changed, runtime.settings))


ALERTS = Domain(
    name="alerts",
    models=("carewall.alerts.models",),
    data_keys=alerts.DATA_KEYS,
    jobs=JOBS,
    on_install=_subscribe,
    evidence={"alerts": _evidence},
    seeders=(ALERTS_SEEDER,),
    web=_web,
    cli=_cli,
)
