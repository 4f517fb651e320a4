"""One-shot messages carried to the next page in a signed cookie.

Signed (HMAC) so that a crafted cookie cannot put words in Carewall's mouth;
the message text is rendered escaped like everything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from fastapi import Request, Response

from carewall.core import crypto

COOKIE = "cw_flash"
LEVELS = frozenset({"info", "success", "warning", "error"})


@dataclass(frozen=True)
class Flash:
    """A message for the next page the browser loads."""

    level: str
    message: str


def _sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def flash(request: Request, response: Response, message: str, level: str = "info") -> None:
    """Queue `message` for the next page."""
    level = level if level in LEVELS else "info"
    payload = base64.urlsafe_b64encode(json.dumps([level, message[:500]]).encode())
    value = f"{payload.decode()}.{_sign(request.app.state.csrf_key, payload)}"
    response.set_cookie(COOKIE, value, httponly=True, samesite="lax", path="/", max_age=120)


def pop_flashes(request: Request) -> list[Flash]:
    """Messages waiting for this request (the renderer clears the cookie)."""
    value = request.cookies.get(COOKIE)
    if not value or "." not in value:
        return []
    payload, signature = value.rsplit(".", 1)
    if not crypto.same_secret(_sign(request.app.state.csrf_key, payload.encode()), signature):
        return []
    try:
        level, message = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, TypeError):
        return []
    return [Flash(str(level), str(message))]
