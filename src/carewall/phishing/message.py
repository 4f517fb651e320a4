"""Small facts about a reported message, read with the standard library.

Reports need three things the verdict does not carry: the sender address
(to list the queue), the message's own Date (for time-to-report) and, for
mail forwarded to the report mailbox, the original inside the forward.
"""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from carewall.core.inputs import storable_text
from carewall.phishing.analyzer.formats import to_rfc822
from carewall.phishing.analyzer.textutil import clean_surrogates

#: Headers are read from this prefix only; a header block is never larger.
_HEADER_BYTES = 256 * 1024
_MAX_PARTS = 200


def _headers(raw: bytes) -> Message:
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:_HEADER_BYTES])


def sender_address(raw: bytes) -> str:
    """The From address, lower case, or '' when there is none."""
    try:
        _, address = parseaddr(clean_surrogates(str(_headers(raw).get("From", ""))))
    except Exception:  # a hostile header must not stop a report being filed
        return ""
    return storable_text(address.strip().lower()) if "@" in address else ""


def message_date(raw: bytes) -> datetime | None:
    """The Date header as aware UTC, or None when absent or unreadable."""
    try:
        value = _headers(raw).get("Date")
        if not value:
            return None
        parsed = parsedate_to_datetime(str(value))
    except Exception:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def unwrap_forwarded(raw: bytes) -> bytes | None:
    """The original message attached to a forward, or None when it was forwarded inline.

    Staff are asked to forward suspicious mail "as attachment": then the
    original headers (the evidence) survive. Most clients attach it as
    ``message/rfc822``; some attach a ``.eml`` file, Outlook a ``.msg``.
    """
    try:
        outer = BytesParser(policy=email.policy.compat32).parsebytes(raw)
        for seen, part in enumerate(outer.walk()):
            if seen > _MAX_PARTS:
                return None
            original = _attached_message(part)
            if original:
                return original
    except Exception:
        return None
    return None


def _attached_message(part: Message) -> bytes | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
        return None
    filename = (part.get_filename() or "").lower()
    if (
        filename.endswith((".eml", ".msg"))
        or part.get_content_type() == "application/vnd.ms-outlook"
    ):
        payload = part.get_payload(decode=True)
        # Outlook forwards "as attachment" as a .msg file: convert it to RFC 5322.
        return to_rfc822(payload) if isinstance(payload, bytes) and payload else None
    return None
