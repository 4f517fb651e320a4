"""The platform itself: health, home, configuration, keys, the audit trail, serving."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carewall.registry.domain import Domain
from carewall.web.nav import EVERYONE_SIGNED_IN, NavItem

if TYPE_CHECKING:
    from carewall.cli.assembly import CliPart
    from carewall.web.parts import WebPart


def _web() -> WebPart:
    from carewall.web.parts import WebPart
    from carewall.web.routes import health, home

    return WebPart(
        routers=(health.router, home.router),
        nav=(
            NavItem("Home", "/", order=0),
            NavItem("Account", "/account/security", EVERYONE_SIGNED_IN, order=90),
        ),
    )


def _cli() -> CliPart:
    from carewall.cli import audit, config, keys, server
    from carewall.cli.assembly import CliPart

    return CliPart(
        groups=(("config", config.app), ("audit", audit.app), ("keys", keys.app)),
        commands=(("serve", server.serve), ("init", server.init)),
    )


PLATFORM = Domain(
    name="platform",
    models=("carewall.core.models", "carewall.audit.models", "carewall.demo.framework"),
    data_keys=("web-csrf",),
    web=_web,
    cli=_cli,
)
