"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from carewall import __version__
from carewall.core.runtime import Runtime
from carewall.identity import passwords
from carewall.jobs import JobRegistry, job_loop
from carewall.web.admission import SignInGate
from carewall.web.csrf import check_csrf
from carewall.web.errors import install_error_handlers
from carewall.web.guards import refuse_nul
from carewall.web.openapi import install_openapi
from carewall.web.parts import WebPart
from carewall.web.proxies import TrustedProxyMiddleware
from carewall.web.security import SecurityMiddleware, secret_path_prefixes


def create_app(runtime: Runtime, parts: Sequence[WebPart], jobs: JobRegistry) -> FastAPI:
    """Build the web application around an opened runtime from the domains' parts.

    `carewall.registry.create_app` is the one caller: it installs the domains
    (data keys, hooks) and hands over their parts and jobs.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with job_loop(runtime, jobs):
            yield

    app = FastAPI(
        title="Carewall",
        lifespan=lifespan,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(refuse_nul), Depends(check_csrf)],
        # Starlette's slash redirect writes an absolute Location on the Host header
        # (`/invite/<token>/` with `Host: evil.example` carried the token there): a
        # path with a stray slash is simply not found.
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.jobs = jobs
    app.state.nav = [item for part in parts for item in part.nav]
    app.state.home_panels = [panel for part in parts for panel in part.home]
    app.state.csrf_key = runtime.keys.data_key("web-csrf")
    # Its threads start on first use and idle between sign-ins; they outlive client
    # test contexts, so the gate lives as long as the application.
    app.state.signin_gate = SignInGate.from_settings(runtime.settings)
    passwords.prepare_dummy_hash()  # now, not during the first sign-in
    app.mount("/static", StaticFiles(directory=str(files("carewall.web") / "static")), "static")
    for router in [r for part in parts for r in part.hot_routers]:
        app.include_router(router)
    for router in [r for part in parts for r in part.routers]:
        app.include_router(router)
    install_error_handlers(app)
    install_openapi(app)
    # Paths that carry a one-time token: cut from the access log and from audited paths.
    app.state.secret_path_prefixes = secret_path_prefixes(app.routes)
    app.add_middleware(
        SecurityMiddleware,
        behind_tls=runtime.settings.behind_tls,
        secret_prefixes=app.state.secret_path_prefixes,
    )
    if runtime.settings.trusted_proxies:  # outermost: everything inside sees the real client
        app.add_middleware(TrustedProxyMiddleware, trusted=runtime.settings.proxy_networks)
    return app


# A path no route matches: matching it runs every route's match once.
_NO_ROUTE_SCOPE = {
    "type": "http",
    "path": "/.carewall/prepare",
    "method": "GET",
    "root_path": "",
    "headers": [],
    "query_string": b"",
}


def prepare_routes(app: FastAPI) -> None:
    """Build every route's request handling now, before the server takes requests.

    FastAPI builds a route's dependency graph (signatures, type hints) the first
    time a request is matched against it, on the event loop's thread. A newly
    started worker's first requests held its loop for 0.6 to 1 s, during which it
    neither answered nor accepted connections (with several workers, the others
    took them all). Matching a path that no route matches builds them all once:
    0.25 s at start-up. For the served application only: tests build many apps and
    pay this only for the routes they use.
    """
    for route in app.router.routes:
        route.matches(_NO_ROUTE_SCOPE)
