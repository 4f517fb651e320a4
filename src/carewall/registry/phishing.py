"""Phishing defence: the e-mail analyzer, reported mail and its triage, simulation campaigns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.campaign_seed import CAMPAIGN_SEEDER
from carewall.demo.mail_seed import MAIL_SEEDER
from carewall.phishing.sealing import REPORT_KEY
from carewall.phishing.services import seal_legacy_reports
from carewall.phishing.simulation import SIMULATION_KEY
from carewall.phishing.simulation.results import phishing_evidence
from carewall.phishing.simulation.sending import SEND_TASK
from carewall.registry.domain import Domain
from carewall.web.nav import STAFF, NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _evidence(runtime: Runtime) -> Mapping[str, Any]:
    with runtime.db.sessions() as session:
        return phishing_evidence(session)


def _web() -> WebPart:
    from carewall.web import home_panels as panels
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import campaigns, mail, tracking

    admin = roles(Role.ADMIN)
    return WebPart(
        home=(
            HomePanel("home/_triage.html", admin, panels.triage_panel, 14),
            HomePanel("home/_awareness.html", admin, panels.awareness_panel, 40),
        ),
        routers=(mail.router, campaigns.router, tracking.router),
        nav=(
            NavItem("Analyze email", "/mail/analyze", STAFF, order=30),
            NavItem("My reports", "/mail/reports", STAFF, order=30),
            NavItem("Reported email", "/admin/mail-reports", roles(Role.ADMIN), order=31),
            NavItem("Campaigns", "/admin/campaigns", roles(Role.ADMIN), order=32),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import campaign, mail
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("mail", mail.app), ("campaign", campaign.app)))


PHISHING = Domain(
    name="phishing",
    models=("carewall.phishing.models", "carewall.phishing.simulation.models"),
    data_keys=(REPORT_KEY, SIMULATION_KEY),
    upgrades=(seal_legacy_reports,),
    tasks=(SEND_TASK,),
    evidence={"phishing": _evidence},
    seeders=(CAMPAIGN_SEEDER, MAIL_SEEDER),
    web=_web,
    cli=_cli,
)
