"""Risk: the assessment, the risk register, the breach-cost estimate and the insurance report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carewall import risk
from carewall.core.clock import utcnow
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.risk_seed import risk_seeder
from carewall.registry.domain import Domain, EvidenceProvider
from carewall.risk import queries

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def providers() -> Mapping[str, EvidenceProvider]:
    """Every registered domain's evidence providers (looked up when asked: the list is final)."""
    from carewall.registry import evidence_providers

    return evidence_providers()


RISK_SEEDER = risk_seeder(providers)


def _assessment_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `assessment` evidence section: the last completed risk analysis and the register."""
    with runtime.db.sessions() as session:
        return queries.assessment_evidence(session, utcnow())


def _web() -> WebPart:
    from carewall.web.nav import NavItem, roles
    from carewall.web.parts import WebPart
    from carewall.web.routes.risk import routers

    return WebPart(
        routers=routers(providers),
        nav=(NavItem("Risk", "/risk", roles(Role.ADMIN, Role.AUDITOR), order=40),),
    )


def _cli() -> CliPart:
    from carewall.cli.assembly import CliPart
    from carewall.cli.risk import report_app, risk_app

    return CliPart(groups=(("risk", risk_app(providers)), ("report", report_app(providers))))


RISK = Domain(
    name="risk",
    models=("carewall.risk.models",),
    data_keys=risk.DATA_KEYS,
    evidence={"assessment": _assessment_evidence},
    seeders=(RISK_SEEDER,),
    web=_web,
    cli=_cli,
)
