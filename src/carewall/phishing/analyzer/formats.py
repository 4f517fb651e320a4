"""Outlook's own formats turned into what the rest of the analyzer reads.

Staff save mail from Outlook as ``.msg`` (an OLE compound file) and
Exchange wraps rich-text mail in a TNEF ``winmail.dat`` attachment. Both
are converted here, with ``extract-msg`` and ``tnefparse``: a ``.msg``
into an RFC 5322 message (its transport headers when it kept them, its
bodies and attachments), a TNEF blob into bodies and attachments the
parser adds to the message carrying it. Conversion never raises: bytes
that are neither stay as they are.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from carewall.phishing.analyzer.limits import MAX_ATTACHMENT_BYTES, MAX_PARTS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_POLICY = default_policy.clone(max_line_length=998)
_log = logging.getLogger(__name__)
_COPIED_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "reply-to", "return-path")


@dataclass(slots=True)
class TnefContent:
    """Bodies and attachments carried in a TNEF blob."""

    plain: str = ""
    html: str = ""
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def is_msg(data: bytes) -> bool:
    """An OLE file that is an Outlook message (not a Word or Excel file)."""
    return (
        data.startswith(OLE_MAGIC)
        and b"_\x00_\x00s\x00u\x00b\x00s\x00t\x00g\x00" in data[: 1 << 20]
    )


def is_tnef(data: bytes) -> bool:
    """A TNEF stream (winmail.dat)."""
    return data.startswith(TNEF_MAGIC)


def to_rfc822(data: bytes) -> bytes:
    """A ``.msg`` or bare ``winmail.dat`` as an RFC 5322 message; anything else unchanged."""
    if is_msg(data):
        converted = msg_to_rfc822(data)
        return converted if converted is not None else data
    if is_tnef(data):
        return _tnef_message(read_tnef(data))
    return data


def msg_to_rfc822(data: bytes) -> bytes | None:
    """Convert an Outlook ``.msg``; None when it cannot be read."""
    try:
        import extract_msg

        logging.getLogger("extract_msg").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            msg = extract_msg.openMsg(data, delayAttachments=False)
            try:
                return _msg_message(msg)
            finally:
                msg.close()
    except Exception:
        _log.debug("unreadable .msg", exc_info=True)
        return None


def _msg_message(msg: Any) -> bytes:
    out = EmailMessage(policy=_POLICY)
    header = getattr(msg, "header", None)
    for name in _COPIED_HEADERS:
        value = header.get(name) if header is not None else None
        if value:
            out[name] = " ".join(str(value).split())
    for name, value in (("from", msg.sender), ("to", msg.to), ("subject", msg.subject)):
        if value and name not in out:
            out[name] = " ".join(str(value).split())
    for key, value in header.items() if header is not None else []:
        if key.lower() not in _COPIED_HEADERS and key.lower().startswith(
            ("dkim", "list-", "x-", "authentication")
        ):
            out[key] = " ".join(str(value).split())
    _set_bodies(out, str(msg.body or ""), _text(getattr(msg, "htmlBody", b"")))
    for att in list(getattr(msg, "attachments", []))[:MAX_PARTS]:
        payload = getattr(att, "data", None)
        if isinstance(payload, bytes):
            name = str(
                getattr(att, "longFilename", "")
                or getattr(att, "shortFilename", "")
                or "attachment"
            )
            _attach(out, name, payload)
    return out.as_bytes()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value or "")


def _set_bodies(out: EmailMessage, plain: str, html: str) -> None:
    out.set_content(plain or " ")
    if html:
        out.add_alternative(html, subtype="html")


def _attach(out: EmailMessage, name: str, payload: bytes) -> None:
    if not out.is_multipart() or out.get_content_type() != "multipart/mixed":
        out.make_mixed()
    out.add_attachment(
        payload[:MAX_ATTACHMENT_BYTES],
        maintype="application",
        subtype="octet-stream",
        filename=name,
    )


def read_tnef(data: bytes) -> TnefContent:
    """Bodies and attachments of a TNEF blob (empty when it cannot be read)."""
    content = TnefContent()
    try:
        import tnefparse

        logging.getLogger("tnefparse").setLevel(logging.CRITICAL)
        tnef = tnefparse.TNEF(data, do_checksum=False)
    except Exception:
        return content
    content.plain = _text(getattr(tnef, "body", b"")).rstrip("\x00")
    content.html = _text(getattr(tnef, "htmlbody", b"")).rstrip("\x00")
    for att in list(getattr(tnef, "attachments", []))[:MAX_PARTS]:
        payload = getattr(att, "data", b"")
        name = (
            att.long_filename() if hasattr(att, "long_filename") else str(getattr(att, "name", ""))
        )
        if isinstance(payload, bytes):
            content.attachments.append(
                (_text(name) or "attachment", payload[:MAX_ATTACHMENT_BYTES])
            )
    return content


def _tnef_message(content: TnefContent) -> bytes:
    out = EmailMessage(policy=_POLICY)
    _set_bodies(out, content.plain, content.html)
    for name, payload in content.attachments:
        _attach(out, name, payload)
    return out.as_bytes()
