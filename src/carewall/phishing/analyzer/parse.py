"""A bounded, never-raising walk over a MIME message.

The standard library parser is lenient and records defects instead of
failing; this module adds the limits (size, part count, depth) and turns
the tree into flat lists the rules can scan without touching MIME again.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr

from carewall.phishing.analyzer.formats import is_tnef, read_tnef
from carewall.phishing.analyzer.limits import (
    MAX_ATTACHMENT_BYTES,
    MAX_DEPTH,
    MAX_PARTS,
    MAX_RAW_BYTES,
    MAX_TEXT_PART_BYTES,
)
from carewall.phishing.analyzer.textutil import (
    clean_surrogates,
    decode_bytes,
    decode_header_value,
)

#: Parser defects that mean the structure itself is broken, not just untidy.
SEVERE_DEFECTS = frozenset(
    {
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "MultipartInvariantViolationDefect",
        "NoBoundaryInMultipartDefect",
        "InvalidBase64PaddingDefect",
        "InvalidBase64CharactersDefect",
        "InvalidBase64LengthDefect",
        "MissingHeaderBodySeparatorDefect",
        "MisplacedEnvelopeHeaderDefect",
        "InvalidMultipartContentTransferEncodingDefect",
    }
)

_BRACKETED = re.compile(r"<([^<>@\s]{1,200}@[^<>\s]{1,255})>")
_CORE_HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version", "content-type")
_TEXT_TYPES = frozenset({"text/plain", "text/html"})


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body part: what it claims to be and (a bounded prefix of) what it is."""

    filename: str
    content_type: str
    payload: bytes
    size: int
    inline: bool


@dataclass(slots=True)
class ParsedMessage:
    """The flattened message the rules read."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    plain_parts: list[str] = field(default_factory=list)
    html_parts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: First raw value of each header, before RFC 2047 decoding (for address parsing).
    raw_headers: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """First value of a top-level header, decoded, or ''."""
        lname = name.lower()
        for key, value in self.headers:
            if key == lname:
                return value
        return ""

    def get_all(self, name: str) -> list[str]:
        """Every value of a top-level header, decoded."""
        lname = name.lower()
        return [value for key, value in self.headers if key == lname]

    def has(self, name: str) -> bool:
        """Whether a top-level header is present at all."""
        lname = name.lower()
        return any(key == lname for key, _ in self.headers)

    @property
    def subject(self) -> str:
        """The decoded Subject."""
        return self.get("subject")

    def address(self, name: str) -> tuple[str, str]:
        """(display name, address as written) of an address header."""
        return split_address(self.get_raw(name))

    def get_raw(self, name: str) -> str:
        """First value of a header before RFC 2047 decoding of the whole value."""
        return self.raw_headers.get(name.lower(), "")


def split_address(raw_value: str) -> tuple[str, str]:
    """Parse an address header leniently into (decoded display name, address).

    Broken headers (unquoted commas, several addresses) are common in
    spam; when the strict parse finds nothing, the first ``<address>`` and
    the text before it are used, so the identity rules still see them.
    """
    if not raw_value:
        return "", ""
    try:
        name, addr = parseaddr(raw_value)
    except Exception:
        name, addr = "", ""
    if "@" not in addr:
        match = _BRACKETED.search(raw_value)
        if match:
            name, addr = raw_value[: match.start()].strip(" \t\"',_"), match.group(1)
    display = decode_header_value(name) if name else ""
    return display, addr.strip().strip("<>")


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` within the limits; problems are recorded, never raised."""
    parsed = ParsedMessage()
    if len(raw) > MAX_RAW_BYTES:
        parsed.problems.append(f"message larger than {MAX_RAW_BYTES} bytes, truncated")
        raw = raw[:MAX_RAW_BYTES]
    try:
        message = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except (RecursionError, MemoryError, Exception) as exc:
        parsed.problems.append(f"unparseable message: {type(exc).__name__}")
        return parsed
    _read_headers(message, parsed)
    if not any(parsed.has(name) for name in _CORE_HEADERS):
        parsed.problems.append("no RFC 5322 header found")
    try:
        _walk(message, parsed)
    except (RecursionError, MemoryError, Exception) as exc:
        parsed.problems.append(f"MIME structure could not be walked: {type(exc).__name__}")
    return parsed


def _read_headers(message: Message, parsed: ParsedMessage) -> None:
    try:
        items = list(message.raw_items())
    except Exception as exc:
        parsed.problems.append(f"unreadable headers: {type(exc).__name__}")
        return
    for key, value in items:
        lname = str(key).strip().lower()
        raw_value = clean_surrogates(str(value))
        parsed.raw_headers.setdefault(lname, raw_value)
        parsed.headers.append((lname, decode_header_value(raw_value)))


def _walk(root: Message, parsed: ParsedMessage) -> None:
    """Depth-first over the MIME tree without recursion, honouring the limits."""
    stack: list[tuple[Message, int]] = [(root, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            parsed.problems.append(f"more than {MAX_PARTS} MIME parts, rest ignored")
            return
        _note_defects(part, parsed)
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                parsed.problems.append(f"MIME nesting deeper than {MAX_DEPTH}, rest ignored")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        _read_leaf(part, parsed)


def _note_defects(part: Message, parsed: ParsedMessage) -> None:
    for defect in getattr(part, "defects", ()):
        name = type(defect).__name__
        if name in SEVERE_DEFECTS and len(parsed.problems) < 20:
            parsed.problems.append(f"MIME defect: {name}")


def _read_leaf(part: Message, parsed: ParsedMessage) -> None:
    content_type = clean_surrogates(part.get_content_type())
    try:
        filename = decode_header_value(part.get_filename() or "")
    except Exception:
        filename = ""
    disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    is_body = content_type in _TEXT_TYPES and not filename and disposition != "attachment"
    if is_tnef(data) or content_type == "application/ms-tnef":
        _expand_tnef(data, parsed)
        return
    if is_body:
        text = decode_bytes(data[:MAX_TEXT_PART_BYTES], part.get_content_charset())
        (parsed.html_parts if content_type == "text/html" else parsed.plain_parts).append(text)
        return
    parsed.attachments.append(
        Attachment(
            filename=filename,
            content_type=content_type,
            payload=data[:MAX_ATTACHMENT_BYTES],
            size=len(data),
            inline=disposition != "attachment",
        )
    )


def _expand_tnef(data: bytes, parsed: ParsedMessage) -> None:
    """A winmail.dat's bodies and files become the message's own (Outlook hid them there)."""
    content = read_tnef(data)
    if content.plain:
        parsed.plain_parts.append(content.plain[:MAX_TEXT_PART_BYTES])
    if content.html:
        parsed.html_parts.append(content.html[:MAX_TEXT_PART_BYTES])
    for name, payload in content.attachments:
        if len(parsed.attachments) >= MAX_PARTS:
            break
        parsed.attachments.append(
            Attachment(
                filename=name,
                content_type="application/octet-stream",
                payload=payload,
                size=len(payload),
                inline=False,
            )
        )
    if not (content.plain or content.html or content.attachments):
        parsed.attachments.append(
            Attachment("winmail.dat", "application/ms-tnef", data, len(data), inline=False)
        )
