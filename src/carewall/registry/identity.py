"""Identity: sign-in, second factors, sessions, API tokens, user administration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from carewall import identity
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.demo.identity_seed import STAFF_SEEDER
from carewall.identity.links import seal_patient_links
from carewall.identity.queries import (
    mfa_evidence,
    password_policy_evidence,
    session_policy_evidence,
)
from carewall.identity.signin import end_expired_sessions
from carewall.identity.throttle import prune_expired
from carewall.jobs import Job, JobContext
from carewall.registry.domain import Domain
from carewall.web.nav import EVERYONE_SIGNED_IN, NavItem, roles

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _expire_sessions(context: JobContext) -> str | None:
    ended = end_expired_sessions(context.runtime)
    return f"ended {ended} expired session(s)" if ended else None


def _sessions_interval(settings: Settings) -> timedelta | None:
    seconds = settings.break_glass_sweep_seconds  # the one housekeeping interval setting
    return timedelta(seconds=seconds) if seconds else None


def _prune_failures(context: JobContext) -> str | None:
    pruned = prune_expired(context.runtime)
    return f"removed {pruned} expired sign-in failure(s)" if pruned else None


def _mfa_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `mfa` evidence section: second-factor coverage of active accounts, measured now."""
    with runtime.db.sessions() as session:
        return mfa_evidence(session, utcnow()).as_json()


def _password_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `password_policy` evidence section."""
    return password_policy_evidence(runtime.settings, utcnow())


def _session_evidence(runtime: Runtime) -> Mapping[str, Any]:
    """The `sessions` evidence section."""
    return session_policy_evidence(runtime.settings, utcnow())


def _web() -> WebPart:
    from carewall.web import home_panels
    from carewall.web.parts import HomePanel, WebPart
    from carewall.web.routes import account, admin, api_account, passkeys, resume, signin

    admin_only = roles(Role.ADMIN)
    return WebPart(
        home=(
            HomePanel("home/_notices.html", EVERYONE_SIGNED_IN, home_panels.notices_panel, 1),
            HomePanel("home/_accounts.html", admin_only, home_panels.accounts_panel, 20),
        ),
        routers=(
            signin.router,
            account.router,
            resume.router,
            api_account.router,
            passkeys.router,
            admin.router,
        ),
        nav=(
            NavItem("Users", "/admin/users", admin_only, order=10),
            NavItem("MFA policy", "/admin/policy", admin_only, order=11),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import users
    from carewall.cli.assembly import CliPart

    return CliPart(groups=(("user", users.app),))


IDENTITY = Domain(
    name="identity",
    models=("carewall.identity.models",),
    data_keys=identity.DATA_KEYS,
    upgrades=(seal_patient_links,),
    jobs=(
        Job(
            "identity.sessions.expire",
            _expire_sessions,
            every=_sessions_interval,
            description="End (and audit) sessions past their idle or absolute limit that "
            "nobody came back to: automatic logoff on the server.",
            at_start=True,
        ),
        Job(
            "identity.throttle.prune",
            _prune_failures,
            every=timedelta(hours=1),
            description="Delete failed sign-in records older than any throttling window.",
        ),
    ),
    evidence={
        "mfa": _mfa_evidence,
        "password_policy": _password_evidence,
        "sessions": _session_evidence,
    },
    seeders=(STAFF_SEEDER,),
    web=_web,
    cli=_cli,
)
