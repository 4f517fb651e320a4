"""CSRF protection for every state-changing request.

A random per-browser secret lives in an HttpOnly cookie; pages embed
HMAC(csrf key, secret) as the hidden `csrf_token` field (or send it as the
`X-CSRF-Token` header from scripts). A cross-site attacker can make the browser
send the cookie but can neither read it nor compute the token. Requests that
authenticate with an `Authorization` header carry no ambient credential and
need no token. Once sessions exist the secret is bound to the session as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from carewall.core.errors import CarewallError

COOKIE = "cw_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfError(CarewallError):
    """The form did not carry a valid token for this browser."""

    code = "csrf_failed"
    status = 403


def _browser_secret(request: Request) -> str:
    secret = request.cookies.get(COOKIE)
    if secret is None or len(secret) != 43:  # token_urlsafe(32)
        secret = getattr(request.state, "new_csrf_secret", None) or secrets.token_urlsafe(32)
        request.state.new_csrf_secret = secret
    return secret


def csrf_token(request: Request) -> str:
    """The token to embed in forms rendered for this browser."""
    key: bytes = request.app.state.csrf_key
    return hmac.new(key, _browser_secret(request).encode(), hashlib.sha256).hexdigest()


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


async def check_csrf(request: Request) -> None:
    """Dependency applied to every route: reject unsafe requests without a valid token."""
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    secret = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None and _is_form(request):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not secret or not sent:
        raise CsrfError(_refusal(request))
    key: bytes = request.app.state.csrf_key
    expected = hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sent):
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
