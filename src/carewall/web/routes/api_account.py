"""JSON endpoints behind the account pages and for scripts: who am I, session ping, strength."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from carewall.identity import passwords
from carewall.web.auth import ALL, Caller, RuntimeDep, require_api

router = APIRouter(prefix="/api/v1", tags=["account"])


class MePublic(BaseModel):
    """The caller as the API sees it."""

    id: str
    email: str
    role: str
    scopes: list[str] | None = Field(
        description="Scopes of the bearer token; null for a browser session"
    )


class SessionPing(BaseModel):
    """Time left before automatic logoff."""

    seconds_left: int


class PasswordProbe(BaseModel):
    """A password to rate; sent in the body, never in a URL."""

    password: str = Field(max_length=1024)
    email: str = Field(default="", max_length=254)


class PasswordFeedback(BaseModel):
    """The same verdict as on submit, for the live meter."""

    score: int
    acceptable: bool
    problems: list[str]
    suggestions: list[str]
    warning: str


@router.get("/me", response_model=MePublic)
def me(caller: Annotated[Caller, Depends(require_api(ALL, scope="api:read"))]) -> MePublic:
    """Who the token or session belongs to."""
    scopes = sorted(caller.scopes) if caller.scopes is not None else None
    return MePublic(id=caller.user_id, email=caller.email, role=caller.role, scopes=scopes)


@router.get("/session/ping", response_model=SessionPing)
def ping(
    request: Request, caller: Annotated[Caller, Depends(require_api(ALL, scope="api:read"))]
) -> SessionPing:
    """Keep a browser session alive after the idle warning (counts as activity)."""
    seconds = int(getattr(request.state, "seconds_left", 0) or 0)
    return SessionPing(seconds_left=seconds)


@router.get("/session/status", response_model=SessionPing)
def status(
    request: Request,
    caller: Annotated[Caller, Depends(require_api(ALL, scope="api:read", passive=True))],
) -> SessionPing:
    """Time left before automatic logoff, without counting as activity: the page asks at
    its deadline, in case another tab kept the session alive (401 once it has ended)."""
    seconds = int(getattr(request.state, "seconds_left", 0) or 0)
    return SessionPing(seconds_left=seconds)


@router.post(
    "/password/feedback",
    response_model=PasswordFeedback,
    # FastAPI answers 400 itself when the body cannot be parsed as JSON at all.
    responses={400: {"description": "The body is not JSON"}},
)
def password_feedback(
    request: Request, runtime: RuntimeDep, probe: PasswordProbe
) -> PasswordFeedback:
    """Rate a candidate password (public: the invitation page uses it before sign-in)."""
    settings = runtime.settings
    feedback = passwords.password_feedback(
        probe.password,
        email=probe.email,
        practice_name=settings.practice_name,
        min_length=settings.password_min_length,
    )
    return PasswordFeedback.model_validate(feedback)
