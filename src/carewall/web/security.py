"""Security headers, request ids and access logging as plain ASGI middleware.

Plain ASGI (not BaseHTTPMiddleware) keeps the per-request overhead to a few
microseconds and never buffers bodies; logs carry method, path (without the
query string), status, duration and request id, never a body.

A path can carry a secret: an invitation link is `/invite/{token}`, and whoever
reads the token from a log can set the invited person's password. Every route
parameter named in `SECRET_PATH_PARAMS` is therefore cut from the logged path,
from the literal prefix before it onwards (`/invite/[redacted]`), whether or not
the request matched the route. A test checks that each path parameter of the
application is either in that set or declared harmless, so a new token route
cannot be added without deciding.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("carewall.access")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Path parameters whose value is a secret, never written to a log: a one-time token, a
#: simulation recipient's id (whoever holds it can record clicks in their name), or the
#: one-time id of a form kept through a step-up (it names a pending change).
SECRET_PATH_PARAMS = frozenset({"token", "rid", "pending_id"})
REDACTED = "[redacted]"


def secret_path_prefixes(routes: Iterable[object]) -> tuple[str, ...]:
    """The literal start of every route path up to a secret parameter (`/invite/`)."""
    prefixes: set[str] = set()
    for route in _walk(routes):
        path = str(getattr(route, "path", ""))
        for name in SECRET_PATH_PARAMS:
            for marker in ("{" + name + "}", "{" + name + ":"):
                if marker in path:
                    prefixes.add(path[: path.index(marker)].lower())
    return tuple(sorted(prefixes))


def _walk(routes: Iterable[object]) -> Iterator[object]:
    """Every route, including those of routers FastAPI keeps wrapped when included."""
    for route in routes:
        yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes)


def redact_path(path: str, prefixes: Iterable[str]) -> str:
    """`path` with everything after a secret-bearing prefix replaced by `[redacted]`.

    Compared case-insensitively, so a mistyped `/Invite/<token>` (a 404) is cut too.
    """
    lowered = path.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix) and len(path) > len(prefix):
            return path[: len(prefix)] + REDACTED
    return path


class SecurityMiddleware:
    """Adds security headers and an `X-Request-ID`, and writes one access-log line."""

    def __init__(
        self, app: ASGIApp, *, behind_tls: bool, secret_prefixes: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.headers = [*_BASE_HEADERS, _HSTS] if behind_tls else list(_BASE_HEADERS)
        self.secret_prefixes = tuple(p.lower() for p in secret_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(self.headers)
                headers.append((b"x-request-id", request_id.encode()))
                if scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"public, max-age=3600"))
                else:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "%s %s %s %.1fms rid=%s",
                scope["method"],
                redact_path(scope["path"], self.secret_prefixes),
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )


def _incoming_request_id(scope: MutableMapping[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None
