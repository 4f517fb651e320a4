"""The risk pages under `/risk`: assessment, register, plan, breach cost, evidence, report.

The security officer (admin) edits; the auditor reads. The routers are bound
to the registry's evidence providers here: each request carries them in
`request.state`, so the page modules stay plain module-level routers.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request

from carewall.risk import Providers
from carewall.web.routes.risk import assessments, documents, register


def routers(providers: Callable[[], Providers]) -> tuple[APIRouter, ...]:
    """The risk routers, each request given `providers` (the registered evidence)."""

    def bind(request: Request) -> None:
        request.state.risk_providers = providers

    bound = APIRouter(include_in_schema=False)
    for router in (assessments.router, register.router, documents.router):
        bound.include_router(router, dependencies=[Depends(bind)])
    return (bound,)
