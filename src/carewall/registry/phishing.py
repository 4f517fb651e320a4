"""Phishing defence: the e-mail analyzer, reported mail and its triage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carewall.core.roles import Role
from carewall.phishing.sealing import REPORT_KEY
from carewall.phishing.services import seal_legacy_reports
from carewall.registry.domain import Domain
from carewall.web.nav import STAFF, NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _web() -> WebPart:
    from carewall.web.parts import WebPart
    from carewall.web.routes import mail

    return WebPart(
        routers=(mail.router,),
        nav=(
            NavItem("Analyze email", "/mail/analyze", STAFF, order=30),
            NavItem("Reported email", "/admin/mail-reports", roles(Role.ADMIN), order=31),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import mail
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("mail", mail.app),))


PHISHING = Domain(
    name="phishing",
    models=("carewall.phishing.models",),
    data_keys=(REPORT_KEY,),
    upgrades=(seal_legacy_reports,),
    web=_web,
    cli=_cli,
)
