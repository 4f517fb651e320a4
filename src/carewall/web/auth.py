"""Who is asking: session cookies, bearer tokens and the role checks on every route.

Every protected route declares its roles with `require(...)` (pages) or
`require_api(...)` (JSON API). The dependency records the roles on itself, so
the route inventory test can list every route with the roles it needs and
prove that anonymous and wrong-role requests are refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import quote

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from carewall.core.clock import utcnow
from carewall.core.context import Caller as Caller  # routes import it with the dependencies
from carewall.core.context import Origin, user_ref
from carewall.core.errors import CarewallError, PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.identity import (
    ActiveSession,
    Role,
    Stage,
    apitokens,
    links,
    sessions,
    signin,
    stepup,
    suspensions,
)
from carewall.identity.events import record_refusal
from carewall.identity.tags import IdentityTag

T = TypeVar("T")
SESSION_COOKIE = "cw_session"
_UNRESOLVED = object()
ALL = frozenset(Role)
STAFF = frozenset(role for role in Role if role.is_staff)


class LoginRequiredError(CarewallError):
    """No usable session: pages redirect to sign-in, the API answers 401."""

    code = "login_required"
    status = 401

    def __init__(self, redirect_to: str = "/login") -> None:
        super().__init__("Please sign in.")
        self.redirect_to = redirect_to


class StepUpRedirectError(CarewallError):
    """A sensitive page needs a fresh second factor first.

    `notice` is shown on the confirmation page (pages only), e.g. that a form
    could not be kept and must be filled in again afterwards.
    """

    code = "step_up_required"
    status = 403

    def __init__(self, next_path: str, notice: str = "") -> None:
        super().__init__("Confirm it is you to continue.")
        self.redirect_to = f"/account/reauth?next={quote(next_path, safe='/')}"
        self.notice = notice


@dataclass(frozen=True)
class Resume:
    """How a step-up-protected form survives the step-up.

    `keep` names the form fields carried over to be submitted again after the
    confirmation (never a password or a code). With `again_at`, nothing is
    kept: the person is sent there after confirming, told to fill the form in
    again (a password change, whose fields are all secrets).
    """

    label: str
    keep: frozenset[str] = frozenset()
    again_at: str | None = None


def runtime_of(request: Request) -> Runtime:
    """The process runtime (database, keys, settings)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    """`runtime_of` as a dependency. Async although it awaits nothing: FastAPI runs a
    sync dependency in the thread pool, a hop dearer than the attribute it reads."""
    return runtime_of(request)


# A route declares `runtime: RuntimeDep` (and its caller through `require`) instead of
# reaching into the request by hand.
RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]


def origin_of(request: Request) -> Origin:
    """Source IP, user agent and request id for the audit trail."""
    ip = request.client.host if request.client else ""
    return Origin(
        ip=ip,
        user_agent=request.headers.get("user-agent", "")[:300],
        request_id=str(getattr(request.state, "request_id", "") or ""),
    )


def session_caller(request: Request, active: ActiveSession) -> Caller:
    """The caller context of a fully signed-in browser session."""
    return Caller.for_user(
        active.user.id,
        active.role,
        email=active.user.email,
        patient_id=_patient_of(request, active.user.id, active.role),
        origin=origin_of(request),
        session_id=active.session.id,
    )


def _patient_of(request: Request, user_id: str, role: Role) -> str | None:
    """A patient's linked Patient id: the only compartment their caller context opens."""
    return links.patient_id_of(runtime_of(request), user_id) if role is Role.PATIENT else None


def active_session(request: Request) -> ActiveSession:
    """The browser session behind a route that `require(...)` already let through."""
    active = current_session(request)
    if active is None:
        raise LoginRequiredError(_next_path(request))
    return active


def current_session(request: Request, *, touch: bool = True) -> ActiveSession | None:
    """The browser's session at any stage, resolved once per request.

    `touch=False` (when it is the first resolution of the request) does not count
    the request as activity: the page timer's questions and the sign-in page
    itself must never hold off automatic logoff.
    """
    cached = getattr(request.state, "active_session", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cast("ActiveSession | None", cached)
    token = request.cookies.get(SESSION_COOKIE)
    found = None
    if token:
        runtime = runtime_of(request)
        found = sessions.resolve(
            runtime.db, runtime.settings, token, utcnow(), touch=touch, origin=origin_of(request)
        )
    request.state.active_session = found
    if found is not None and found.stage is Stage.FULL:
        request.state.role = found.role
        request.state.user_email = found.user.email
        settings = runtime_of(request).settings
        request.state.seconds_left = sessions.seconds_left(settings, found, utcnow())
    return found


def _next_path(request: Request) -> str:
    path = request.url.path
    return f"/login?next={quote(path, safe='/')}" if path not in {"/", "/login"} else "/login"


def require(
    *roles: Role | Iterable[Role], step_up: bool | Resume = False
) -> Callable[[Request], Any]:
    """Dependency for pages: a fully signed-in user with one of `roles`.

    `step_up` demands a second factor proven in the last few minutes. Forms pass a
    `Resume`, so that a form sent with a stale factor is kept and completed after
    the confirmation instead of being dropped (`identity.stepup`).
    """
    allowed = _flatten(roles)

    def signed_in(request: Request) -> Caller:
        active = current_session(request)
        if active is None:
            _refuse_bearer_on_page(request)
            raise LoginRequiredError(_next_path(request))
        if active.stage is Stage.MFA:
            raise LoginRequiredError("/login/mfa")
        if active.stage is Stage.ENROLL:
            raise LoginRequiredError("/account/enroll")
        if active.role not in allowed or not active.role.is_person:
            _refuse(request, user_ref(active.user.id), role=active.role)
            raise PermissionDeniedError("Your role does not give access to this page.")
        return _unless_suspended(request, session_caller(request, active))

    dependency: Callable[[Request], Any] = signed_in
    if step_up:
        resume = step_up if isinstance(step_up, Resume) else None

        async def stepped_up(request: Request) -> Caller:
            caller = await run_in_threadpool(signed_in, request)
            active = active_session(request)  # resolved (and cached) by `signed_in`
            if not signin.step_up_fresh(runtime_of(request), active):
                raise await _step_up_first(request, active, resume)
            return caller

        dependency = stepped_up
    dependency.carewall_roles = allowed  # type: ignore[attr-defined]
    dependency.carewall_step_up = bool(step_up)  # type: ignore[attr-defined]
    dependency.carewall_resume = step_up if isinstance(step_up, Resume) else None  # type: ignore[attr-defined]
    return dependency


async def _step_up_first(
    request: Request, active: ActiveSession, resume: Resume | None
) -> StepUpRedirectError:
    """Where to confirm, and what happens to the form meanwhile."""
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if request.method in {"GET", "HEAD"} or (resume is not None and not is_form):
        return StepUpRedirectError(request.url.path)  # a page, or a script told to step up
    if resume is None or resume.again_at is not None:
        target = resume.again_at if resume is not None and resume.again_at else "/"
        what = resume.label.lower() if resume is not None else "do it"
        return StepUpRedirectError(
            target,
            notice=f"Nothing was changed: Carewall does not keep this form while you confirm "
            f"it is you. Afterwards, {what} again.",
        )
    form = await request.form()
    fields = [(k, v) for k, v in form.multi_items() if k in resume.keep and isinstance(v, str)]
    origin = origin_of(request)
    pending_id = await run_in_threadpool(
        stepup.defer, runtime_of(request), active, request.url.path, resume.label, fields, origin
    )
    if pending_id is None:
        return StepUpRedirectError(
            "/", notice="Nothing was changed: the form was too large to keep. Fill it in again."
        )
    return StepUpRedirectError(f"/account/resume/{pending_id}")


def _refuse_bearer_on_page(request: Request) -> None:
    """A page asked with an `Authorization` header and no session: 403, not the sign-in page.

    API tokens (an integration feed's, anyone's) open the JSON and FHIR APIs only;
    pages need a browser session. The refusal is audited like a wrong role, with
    the token's owner as actor when the token is valid, so the admin sees a feed
    that knocks on pages.
    """
    header = request.headers.get("authorization")
    if header is None:
        return
    scheme, _, secret = header.strip().partition(" ")
    identity = None
    if scheme.lower() == "bearer":
        identity = apitokens.authenticate(runtime_of(request), secret.strip())
    actor = user_ref(identity.user_id) if identity is not None else "anonymous"
    _refuse(request, actor, credential="bearer")
    raise PermissionDeniedError(
        "API tokens open the JSON and FHIR APIs, not web pages: sign in with a browser."
    )


def require_stage(*stages: Stage) -> Callable[[Request], ActiveSession]:
    """Dependency for the sign-in pages themselves (second factor, enrolment)."""

    def dependency(request: Request) -> ActiveSession:
        active = current_session(request)
        if active is None or active.stage not in stages:
            raise LoginRequiredError("/login")
        return active

    dependency.carewall_roles = ALL  # type: ignore[attr-defined]
    dependency.carewall_stages = frozenset(stages)  # type: ignore[attr-defined]
    return dependency


def require_api(
    *roles: Role | Iterable[Role], scope: str, passive: bool = False
) -> Callable[[Request], Caller]:
    """Dependency for the JSON API: a bearer token with `scope`, or a full browser session
    (`passive`: a request that must not count as the session's activity)."""
    allowed = _flatten(roles)

    def dependency(request: Request) -> Caller:
        caller = _api_caller(request, touch=not passive)
        if caller is None:
            raise LoginRequiredError()
        _unless_suspended(request, caller)
        if caller.role not in allowed:
            _refuse(request, caller.ref, role=caller.role or "")
            raise PermissionDeniedError("Your role does not allow this.")
        if caller.scopes is not None and scope not in caller.scopes:
            _refuse(request, caller.ref, scope=scope)
            raise PermissionDeniedError(f"This token lacks the {scope} scope.")
        return caller

    dependency.carewall_roles = allowed  # type: ignore[attr-defined]
    dependency.carewall_scope = scope  # type: ignore[attr-defined]
    return dependency


class CheckInThread:
    """A `require_api` check left to the thread that does the route's work.

    FastAPI runs a sync dependency in a thread-pool call of its own, then the sync
    route in another: two hops from the event loop and back per request, about 6-9%
    of a FHIR read's CPU on a busy server (measured by `bench/fhir_read.py`'s set-up).
    A hot route is `async` instead, takes this, and does its work with `run`, which
    makes the check first, in the same hop. The route never holds a caller any other
    way, so it cannot skip the check.

    The check and the work run inside `holding` (the database's `holding`, given by
    `require_api_in_thread`): the token's lookup, the read and its audit append then
    share one pooled connection.
    """

    __slots__ = ("_check", "_holding", "_request")

    def __init__(
        self,
        request: Request,
        check: Callable[[Request], Caller],
        holding: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self._request = request
        self._check = check
        self._holding = holding

    async def run(self, work: Callable[[Caller], T]) -> T:
        """`work(caller)` in the thread pool, after the check (whose refusals it raises)."""
        return await run_in_threadpool(self._checked, work)

    def _checked(self, work: Callable[[Caller], T]) -> T:
        with self._holding():
            return work(self._check(self._request))


def require_api_in_thread(
    *roles: Role | Iterable[Role], scope: str
) -> Callable[[Request], Awaitable[CheckInThread]]:
    """`require_api` for an async route that runs its work through `CheckInThread.run`:
    the same check and the same declared roles and scope (the route inventory reads
    them), made in the route's own hop to the thread pool."""
    check = require_api(*roles, scope=scope)

    async def dependency(request: Request) -> CheckInThread:
        return CheckInThread(request, check, runtime_of(request).db.holding)

    dependency.carewall_roles = check.carewall_roles  # type: ignore[attr-defined]
    dependency.carewall_scope = scope  # type: ignore[attr-defined]
    return dependency


def _api_caller(request: Request, *, touch: bool = True) -> Caller | None:
    """The bearer token's owner, or the browser session when no `Authorization` header
    is sent at all. A present header (even empty or of another scheme) is the only
    credential considered: the cookie never stands in for a failed token."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        identity = apitokens.authenticate(runtime_of(request), secret.strip())
        if identity is None:
            record_refusal(
                runtime_of(request),
                IdentityTag.TOKEN_REJECTED,
                origin_of(request),
                actor="anonymous",
                subject=request.url.path[:200],
            )
            return None
        # The token's lookup answered whether its channel is suspended: `_unless_suspended`
        # takes that answer instead of asking the database a second time.
        request.state.channel_suspended = (identity.channel, identity.suspended)
        role = Role(identity.role)
        return Caller.for_user(
            identity.user_id,
            role,
            email=identity.email,
            patient_id=_patient_of(request, identity.user_id, role),
            origin=origin_of(request),
            token_id=identity.token_id,
            scopes=identity.scopes,
        )
    active = current_session(request, touch=touch)
    if active is None or active.stage is not Stage.FULL:
        return None
    return session_caller(request, active)


def _unless_suspended(request: Request, caller: Caller) -> Caller:
    """The caller, unless its session or token is suspended: then 403, audited.

    The one place every page and API request passes after sign-in (the mass-change
    detector suspends a channel; `identity.suspensions`)."""
    db = runtime_of(request).db
    known = getattr(request.state, "channel_suspended", None)
    if known is not None and known[0] == caller.channel:
        suspended = bool(known[1])
    else:
        suspended = suspensions.is_suspended(db, caller.channel)
    if suspended:
        raise suspensions.refuse(db, caller, request.url.path)
    return caller


def _refuse(request: Request, actor: str, **details: str) -> None:
    record_refusal(
        runtime_of(request),
        IdentityTag.ACCESS_DENIED,
        origin_of(request),
        actor=actor,
        subject=request.url.path[:200],
        method=request.method,
        **details,
    )


def _flatten(roles: tuple[Role | Iterable[Role], ...]) -> frozenset[Role]:
    flat: set[Role] = set()
    for item in roles:
        flat.update([item] if isinstance(item, Role) else item)
    return frozenset(flat)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Send the session id: HttpOnly, SameSite=Lax, Secure on TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=runtime_of(request).settings.behind_tls,
        path="/",
    )


def end_replaced_session(request: Request, previous: ActiveSession | None) -> None:
    """A new sign-in in this browser ends the session it had before (any user, any stage):
    its id must stop working, not linger until its idle limit."""
    if previous is not None:
        signin.sign_out(runtime_of(request), previous, origin_of(request))


def clear_session_cookie(response: Response) -> None:
    """Forget the session id in the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def route_access(dependency: Any) -> frozenset[Role] | None:
    """The roles a dependency created here demands (None for other callables)."""
    roles: frozenset[Role] | None = getattr(dependency, "carewall_roles", None)
    return roles
