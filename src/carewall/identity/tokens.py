"""Random bearer secrets (sessions, invites, API tokens) and their stored digests.

These are 256-bit random values, so a plain SHA-256 digest is enough to make a
stolen database useless for impersonation, and lookups stay a single index hit.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str = "") -> str:
    """A URL-safe random secret with an optional recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a bearer secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
