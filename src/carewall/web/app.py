"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from carewall import __version__, identity, records
from carewall.core.runtime import Runtime
from carewall.identity import passwords
from carewall.web.csrf import check_csrf
from carewall.web.errors import install_error_handlers
from carewall.web.fhir import routes as fhir
from carewall.web.guards import refuse_nul
from carewall.web.housekeeping import housekeeping
from carewall.web.openapi import install_openapi
from carewall.web.proxies import TrustedProxyMiddleware
from carewall.web.routes import (
    access_flags,
    access_report,
    account,
    admin,
    api_account,
    health,
    home,
    mail,
    passkeys,
    patients,
    portal,
    resume,
    signin,
)
from carewall.web.security import SecurityMiddleware


def create_app(runtime: Runtime) -> FastAPI:
    """Build the web application around an opened runtime (database and keys)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with housekeeping(runtime):
            yield

    app = FastAPI(
        title="Carewall",
        lifespan=lifespan,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(refuse_nul), Depends(check_csrf)],
    )
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.csrf_key = runtime.keys.data_key("web-csrf")
    identity.prepare_keys(runtime.keys)
    records.prepare_keys(runtime.keys)
    passwords.dummy_verify("")  # build the dummy hash now, not during the first sign-in
    app.mount("/static", StaticFiles(directory=str(files("carewall.web") / "static")), "static")
    app.include_router(health.router)
    app.include_router(home.router)
    app.include_router(signin.router)
    app.include_router(account.router)
    app.include_router(resume.router)
    app.include_router(api_account.router)
    app.include_router(passkeys.router)
    app.include_router(admin.router)
    app.include_router(mail.router)
    app.include_router(fhir.router)
    app.include_router(patients.router)
    app.include_router(portal.router)
    app.include_router(access_report.router)
    app.include_router(access_flags.router)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(SecurityMiddleware, behind_tls=runtime.settings.behind_tls)
    if runtime.settings.trusted_proxies:  # outermost: everything inside sees the real client
        app.add_middleware(TrustedProxyMiddleware, trusted=runtime.settings.proxy_networks)
    return app
