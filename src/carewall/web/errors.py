"""One place that turns failures into friendly pages or JSON, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from carewall.audit import AuditEvent, AuditTag, Outcome, record
from carewall.core.errors import CarewallError
from carewall.identity.errors import ThrottledError
from carewall.records import Issue, RecordValidationError
from carewall.web.admission import SignInBusyError
from carewall.web.auth import LoginRequiredError, StepUpRedirectError, origin_of
from carewall.web.csrf import CsrfError
from carewall.web.fhir.responses import outcome_response
from carewall.web.flash import flash
from carewall.web.security import redact_path
from carewall.web.templating import render

log = logging.getLogger(__name__)

_TITLES = {
    400: "That request could not be understood",
    401: "Please sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    422: "Some of the information is not valid",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "Busy for a moment",
}
BUSY_RETRY_AFTER_SECONDS = 1


def wants_json(request: Request) -> bool:
    """API clients get JSON; browsers get pages."""
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/webauthn/")) or is_fhir(request):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def is_fhir(request: Request) -> bool:
    """Whether the request is for the FHIR API (`/fhir/...`, or the bare base for Bundles)."""
    path = request.url.path
    return path == "/fhir" or path.startswith("/fhir/")


def error_response(
    request: Request, status: int, code: str, message: str, *, issues: Sequence[Issue] = ()
) -> Response:
    """Render an error as JSON or as the friendly error page (OperationOutcome under /fhir/)."""
    if is_fhir(request):
        return outcome_response(status, message, issues)
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    title = _TITLES.get(status, "Something went wrong")
    context = {"status": status, "title": title, "message": message}
    return render(request, "error.html", context, status=status)


async def _error_page(
    request: Request, status: int, code: str, message: str, *, issues: Sequence[Issue] = ()
) -> Response:
    """`error_response` from an async handler: a page is rendered in a worker thread, since
    rendering reads the browser's session from the database."""
    if wants_json(request):
        return error_response(request, status, code, message, issues=issues)
    render_page = partial(error_response, request, status, code, message, issues=issues)
    return await run_in_threadpool(render_page)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(CarewallError)
    async def _domain(request: Request, exc: CarewallError) -> Response:
        if isinstance(exc, CsrfError):
            # A write: never in the event loop, which would stall every request meanwhile.
            await run_in_threadpool(_audit_csrf, request)
        if isinstance(exc, LoginRequiredError | StepUpRedirectError) and not wants_json(request):
            redirect = RedirectResponse(exc.redirect_to, status_code=303)
            if isinstance(exc, StepUpRedirectError) and exc.notice:
                flash(request, redirect, exc.notice, "warning")
            return redirect
        issues = exc.issues if isinstance(exc, RecordValidationError) else ()
        response = await _error_page(request, exc.status, exc.code, exc.message, issues=issues)
        if isinstance(exc, LoginRequiredError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="carewall"'
        if isinstance(exc, ThrottledError | SignInBusyError):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: "There is nothing at this address. Check the link or go back to the home page.",
            405: "This page does not accept that kind of request.",
        }
        message = messages.get(exc.status_code) or str(exc.detail)
        response = await _error_page(request, exc.status_code, f"http_{exc.status_code}", message)
        if exc.headers:  # e.g. `Allow` on a 405, which RFC 9110 requires
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in err["loc"][1:]) for err in exc.errors()})
        message = "Please check these fields: " + ", ".join(f for f in fields if f)
        return await _error_page(request, 422, "invalid", message)

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # "database is locked" (SQLite's busy timeout ran out), a lost connection: the
        # request can be retried, and nobody is shown a 500 for it.
        log.warning(
            "database unavailable rid=%s: %s",
            getattr(request.state, "request_id", "-"),
            str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__,
        )
        message = "The service is busy. Please try again in a moment."
        response = await _error_page(request, 503, "busy", message)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # The database refused a value the request carried (a NUL, a string longer than
        # its column, a number out of range): the request's fault, said without detail.
        log.warning(
            "value refused by the database rid=%s: %s",
            getattr(request.state, "request_id", "-"),
            type(exc.orig).__name__,
        )
        message = "A value in this request is too long or contains a character not allowed."
        return error_response(request, 400, "bad_request", message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error rid=%s", getattr(request.state, "request_id", "-"))
        message = "The error has been logged. Please try again, or tell your administrator."
        return await _error_page(request, 500, "internal_error", message)


def _audit_csrf(request: Request) -> None:
    runtime, origin = request.app.state.runtime, origin_of(request)
    event = AuditEvent(
        action=AuditTag.CSRF_REJECTED,
        outcome=Outcome.DENIED,
        actor="anonymous",
        subject=redact_path(request.url.path, request.app.state.secret_path_prefixes)[:200],
        source_ip=origin.ip,
        user_agent=origin.user_agent,
        details={"method": request.method},
    )
    with runtime.db.transaction() as session:
        record(session, event)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (RFC 9110's `Allow` on a 405).

    Starlette named only the first route whose path matched: `PATCH /fhir/Patient/x`
    answered `Allow: GET` (the read's router comes first) though PUT and DELETE are
    taken there too. Each method is tried against the routes as a request would be.
    """
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)
