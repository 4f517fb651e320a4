"""What the risk pages share: who may read or edit, the evidence providers, redirects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse

from carewall.core.roles import Role
from carewall.risk import Providers
from carewall.risk.access import can_edit
from carewall.web.auth import Caller, require
from carewall.web.flash import flash
from carewall.web.reports import install_filters
from carewall.web.templating import templates

install_filters(templates.env)  # the risk pages use the report's filters (percent, day, ...)

Reader = Annotated[Caller, Depends(require(Role.ADMIN, Role.AUDITOR))]
Editor = Annotated[Caller, Depends(require(Role.ADMIN))]


def evidence_source(request: Request) -> Providers:
    """The registered evidence providers, bound to the request by the risk routers."""
    source = getattr(request.state, "risk_providers", None)
    if source is None:  # pragma: no cover - the routers always bind it
        raise RuntimeError("risk routes must be mounted through carewall.web.routes.risk.routers")
    providers: Providers = source()
    return providers


Evidence = Annotated[Providers, Depends(evidence_source)]


def back(request: Request, path: str, message: str, level: str = "success") -> Response:
    """Redirect after a form with a one-shot message."""
    response = RedirectResponse(path, status_code=303)
    flash(request, response, message, level)
    return response


def editing(caller: Caller, draft: bool = True) -> bool:
    """Whether the page shows the edit forms to this caller."""
    return draft and can_edit(caller)
