"""CSRF protection for every state-changing request.

A random per-browser secret lives in an HttpOnly cookie; pages embed
HMAC(csrf key, secret, session) as the hidden `csrf_token` field (or send it as
the `X-CSRF-Token` header from scripts). A cross-site attacker can make the
browser send the cookie but can neither read it nor compute the token.

The token is bound to the browser's session (its row id, stable across the id
rotations of one sign-in): a token rendered for another person's session, or
before this sign-in, is refused even when an attacker managed to plant its
secret cookie in the browser.

Only a request that carries no session cookie and authenticates with an
`Authorization` header (a script with an API token) skips the check. Whatever
else a request carries, the session cookie makes it a browser request, and
the API never falls back to the cookie when an `Authorization` header is
present (see `web.auth`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from carewall.core import crypto
from carewall.core.errors import CarewallError
from carewall.web.auth import SESSION_COOKIE, LoginRequiredError, current_session

COOKIE = "cw_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FHIR_BASE = "/fhir"


class CsrfError(CarewallError):
    """The form did not carry a valid token for this browser and session."""

    code = "csrf_failed"
    status = 403


def _browser_secret(request: Request) -> str:
    secret = request.cookies.get(COOKIE)
    if secret is None or len(secret) != 43:  # token_urlsafe(32)
        secret = getattr(request.state, "new_csrf_secret", None) or secrets.token_urlsafe(32)
        request.state.new_csrf_secret = secret
    return secret


def _binding(request: Request) -> str:
    """What the token is bound to: the session's row id, or "" before sign-in."""
    active = current_session(request)
    return active.session.id if active is not None else ""


def _token_for(request: Request, secret: str, binding: str) -> str:
    key: bytes = request.app.state.csrf_key
    message = f"{secret}\x00{binding}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to embed in forms rendered for this browser and session."""
    return _token_for(request, _browser_secret(request), _binding(request))


def set_cookie_if_new(request: Request, response: Response) -> None:
    """Send the browser secret when a page created one while rendering a token."""
    secret = getattr(request.state, "new_csrf_secret", None)
    if secret:
        response.set_cookie(
            COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.behind_tls,
            path="/",
        )


def needs_check(request: Request) -> bool:
    """Unsafe methods need a token, unless nothing ambient authenticates the request.

    A FHIR request with no session cookie carries nothing a forged request could ride
    on either, so it goes on to the API's own check, which answers a missing token
    with 401 and `WWW-Authenticate: Bearer` (RFC 6750), as a FHIR client expects, not
    with a 403 from here. (The JSON API keeps the check: its public password feedback
    is for the practice's own pages only.)
    """
    if request.method in SAFE_METHODS:
        return False
    has_session_cookie = SESSION_COOKIE in request.cookies
    path = request.url.path
    if not has_session_cookie and (path == _FHIR_BASE or path.startswith(_FHIR_BASE + "/")):
        return False
    return has_session_cookie or "authorization" not in request.headers


async def check_csrf(request: Request) -> None:
    """Dependency applied to every route: reject unsafe requests without a valid token."""
    if not needs_check(request):
        return
    secret = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None and _is_form(request):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    binding = await run_in_threadpool(_binding, request)
    if secret and sent and crypto.same_secret(_token_for(request, secret, binding), sent):
        return
    if binding == "" and request.cookies.get(SESSION_COOKIE):
        # The page came from a session that has ended (signed out, timed out): sign in
        # again. Nothing is done on the old session's behalf either way.
        raise LoginRequiredError("/login")
    raise CsrfError(_refusal(request))


def _refusal(request: Request) -> str:
    """What to do about it: API clients most likely forgot their token, people a reload."""
    if request.url.path.startswith(("/api/", "/fhir")):
        return (
            "Send an API token (Authorization: Bearer ...); a browser session needs "
            "its X-CSRF-Token header."
        )
    return "This form has expired or did not come from Carewall. Reload the page."


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
