"""Records: the encrypted FHIR vault, its API and pages, break-glass, the portal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from carewall import records
from carewall.backup import DrillCheck
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.hooks import Hooks
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.portal_seed import PORTAL_SEEDER
from carewall.demo.records_seed import (
    RECORDS_ACTIVITY_SEEDER,
    RECORDS_MORE_SEEDER,
    RECORDS_SEEDER,
)
from carewall.jobs import Job, JobContext
from carewall.records.access.break_glass import close_expired_grants
from carewall.records.access.restriction import seal_restriction_reasons
from carewall.records.bulk import BULK_KEY, EXPORT_TASK, sweep_exports
from carewall.records.queries import vault_figures
from carewall.records.store.drill import check_restored_records
from carewall.records.store.reindex import finish_scheduled_reindex
from carewall.registry.domain import Domain
from carewall.web.nav import NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _sweep_break_glass(context: JobContext) -> str | None:
    closed = close_expired_grants(context.runtime)
    return f"closed {closed} expired break-glass grant(s)" if closed else None


def _sweep_interval(settings: Settings) -> timedelta | None:
    seconds = settings.break_glass_sweep_seconds
    return timedelta(seconds=seconds) if seconds else None


def _vault_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `records` evidence section: records held (breach cost) and break-glass use."""
    now = utcnow()
    with runtime.db.sessions() as session:
        figures = vault_figures(session, now - timedelta(days=90), now)
    return {
        "as_of": now.isoformat(),
        "patients": figures.patients,
        "resources": figures.resources,
        "break_glass_available": True,
        "break_glass_uses_90d": figures.break_glass_uses,
        "break_glass_open": figures.break_glass_open,
    }


def _subscribe(hooks: Hooks) -> None:
    # The restore drill asks every domain to check its data in the restored copy.
    hooks.subscribe(DrillCheck, check_restored_records)


def _web() -> WebPart:
    from carewall.web import home_panels as panels
    from carewall.web.fhir import bulk
    from carewall.web.fhir import routes as fhir
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import access_flags, access_report, patients, portal, restrictions

    admin, staff = roles(Role.ADMIN), roles(Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING)
    return WebPart(
        home=(
            HomePanel("home/_flags.html", admin, panels.flags_panel, 10),
            HomePanel("home/_emergency.html", admin, panels.emergency_panel, 12),
            HomePanel("home/_patients.html", staff, panels.recent_patients_panel, 10),
            HomePanel("home/_own_grants.html", roles(Role.CLINICIAN), panels.own_grants_panel, 12),
            HomePanel("home/_portal.html", roles(Role.PATIENT), panels.links_panel, 10),
        ),
        hot_routers=(
            fhir.read_router,  # first: the read by id, the most frequent request
            bulk.router,  # before fhir.router: `/fhir/$export` is no resource type
            fhir.router,
        ),
        routers=(
            patients.router,
            portal.router,
            access_report.router,
            access_flags.router,
            restrictions.router,
        ),
        nav=(
            NavItem(
                "Patients", "/patients", roles(Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING), 20
            ),
            NavItem("My record", "/portal", roles(Role.PATIENT), 40),
            NavItem("Access report", "/admin/access-report", roles(Role.ADMIN, Role.AUDITOR), 50),
            NavItem("Access flags", "/admin/access-flags", roles(Role.ADMIN), 51),
            NavItem("Restricted records", "/admin/restricted", roles(Role.ADMIN), 52),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import records as records_cli
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("records", records_cli.app),))


RECORDS = Domain(
    name="records",
    models=("carewall.records.models",),
    data_keys=(*records.DATA_KEYS, "fhir-cursor", BULK_KEY),
    upgrades=(seal_restriction_reasons, finish_scheduled_reindex),
    jobs=(
        Job(
            "records.break_glass.sweep",
            _sweep_break_glass,
            every=_sweep_interval,
            description="End break-glass grants whose time is up and audit their end.",
            at_start=True,
        ),
        Job(
            "records.bulk_export.sweep",
            sweep_exports,
            every=timedelta(minutes=5),
            description="Delete the sealed files of expired, cancelled and failed Bulk Data "
            "exports.",
            at_start=True,
        ),
    ),
    tasks=(EXPORT_TASK,),
    evidence={"records": _vault_evidence},
    subscribe=_subscribe,
    seeders=(RECORDS_SEEDER, PORTAL_SEEDER, RECORDS_MORE_SEEDER, RECORDS_ACTIVITY_SEEDER),
    web=_web,
    cli=_cli,
)
