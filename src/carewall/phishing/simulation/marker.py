"""The signed simulation marker: `X-Carewall-Simulation: v1; c=<campaign>; r=<rid>; s=<mac>`.

The MAC is HMAC-SHA256 under the `phishing-simulation` data key, which only
this Carewall holds (wrapped by its master key). The analyzer and the triage
queue trust a message as "our own simulation" only when the MAC verifies, so
an attacker who copies the header name into real phishing gains nothing: a
header that does not verify is treated as a threat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from carewall.core import crypto

SIMULATION_KEY = "phishing-simulation"
HEADER = "X-Carewall-Simulation"
_VALUE = re.compile(r"^v1; c=([0-9a-f-]{36}); r=([A-Za-z0-9_-]{16,40}); s=([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class Marker:
    """What a verified header says: which campaign and which recipient."""

    campaign_id: str
    rid: str


def _mac(key: bytes, campaign_id: str, rid: str) -> str:
    digest = hmac.new(key, f"v1|{campaign_id}|{rid}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, campaign_id: str, rid: str) -> str:
    """The header value for one recipient's message."""
    return f"v1; c={campaign_id}; r={rid}; s={_mac(key, campaign_id, rid)}"


def verify(key: bytes, value: str) -> Marker | None:
    """The marker when `value` is well formed and its MAC verifies; None otherwise."""
    match = _VALUE.match(" ".join(value.split()))
    if match is None:
        return None
    campaign_id, rid, mac = match.groups()
    if not crypto.same_secret(_mac(key, campaign_id, rid), mac):
        return None
    return Marker(campaign_id, rid)


def verifier(key: bytes) -> Callable[[str], bool]:
    """A yes/no check for the analyzer's context (the analyzer holds no keys itself)."""
    return lambda value: verify(key, value) is not None


@dataclass(frozen=True, slots=True)
class Found:
    """What a reported message carries: a verified marker, and whether any header was forged."""

    marker: Marker | None
    forged: bool


def find_marker(raw: bytes, key: bytes) -> Found:
    """Look for the header on the message and on messages attached to it (a forward as attachment).

    Staff report a simulation by forwarding it; mail clients attach the
    original (message/rfc822) with its headers, which is where the marker is.
    """
    import email

    forged = False
    stack: list[tuple[Message, int]] = [(email.message_from_bytes(raw), 0)]
    while stack:
        message, depth = stack.pop()
        for value in message.get_all(HEADER, []):
            marker = verify(key, str(value))
            if marker is not None:
                return Found(marker, forged)
            forged = True
        if depth < 3 and message.is_multipart():
            for part in message.walk():
                if part is message:
                    continue
                if part.get_content_type() == "message/rfc822":
                    stack.extend((item, depth + 1) for item in _attached(part))
    return Found(None, forged)


def _attached(part: Message) -> list[Message]:
    """The message(s) inside a message/rfc822 part, decoded first when it was encoded."""
    import binascii
    import email
    import quopri

    inner = part.get_payload()
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding not in ("base64", "quoted-printable"):
        return (
            [item for item in inner if isinstance(item, Message)] if isinstance(inner, list) else []
        )
    parts = inner if isinstance(inner, list) else [inner]
    text = "".join(i.as_string() if isinstance(i, Message) else str(i) for i in parts)
    try:
        data = (
            base64.b64decode(text) if encoding == "base64" else quopri.decodestring(text.encode())
        )
    except (binascii.Error, ValueError):
        return []
    return [email.message_from_bytes(data)]
