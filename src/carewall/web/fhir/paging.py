"""Opaque search-page cursors: the search, sealed, so no search value travels in a URL.

A `next` link carries only `_cursor`: AES-256-GCM over the parameters, the page
size and the last id returned, bound (associated data) to the caller and the
resource type, valid for an hour. Another user, another type or an altered
cursor fails to open and gets 400.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.errors import DecryptionError
from carewall.core.keystore import Keystore
from carewall.records.store.search import PageRequest
from carewall.web.fhir.inputs import bad_request

CURSOR_KEY = "fhir-cursor"
LIFETIME = timedelta(hours=1)


# Where a search stands: its parameters, page size and the last id already sent.
Page = PageRequest


def seal(keys: Keystore, user_id: str, resource_type: str, page: Page) -> str:
    """The opaque `_cursor` value for the page after `page.after`."""
    body = {
        "p": page.params,
        "c": page.count,
        "a": page.after,
        "x": int((utcnow() + LIFETIME).timestamp()),
    }
    sealed = crypto.encrypt(
        keys.data_key(CURSOR_KEY), json.dumps(body).encode(), _aad(user_id, resource_type)
    )
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(keys: Keystore, user_id: str, resource_type: str, cursor: str) -> Page:
    """The page a cursor names; 400 when it is altered, foreign or expired."""
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = crypto.decrypt(keys.data_key(CURSOR_KEY), sealed, _aad(user_id, resource_type))
        body = json.loads(plain)
    except (ValueError, DecryptionError):
        raise bad_request("_cursor", "not a valid page cursor for this search") from None
    if body["x"] < utcnow().timestamp():
        raise bad_request("_cursor", "the page cursor has expired; search again")
    return Page(params=body["p"], count=int(body["c"]), after=str(body["a"]))


def _aad(user_id: str, resource_type: str) -> bytes:
    return f"fhir-cursor/{user_id}/{resource_type}".encode()
