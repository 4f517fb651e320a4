"""Turning a template into one person's message, and into the teachable moment's annotated copy.

Placeholders are `{{first_name}}`, `{{last_name}}`, `{{name}}`, `{{email}}`,
`{{department}}`, `{{practice}}`, `{{sim_domain}}`, `{{link}}` and
`{{report_link}}`; values are HTML-escaped in the HTML part. The open pixel is
appended to the HTML part after sanitising (it is ours, not the template's).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.phishing.simulation.library import Scenario
from carewall.phishing.simulation.marker import HEADER

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Person:
    """Who a message is for, as far as placeholders go."""

    email: str
    name: str = ""
    department: str = ""

    @property
    def first_name(self) -> str:
        """The first word of the name, or the address's local part."""
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]

    @property
    def last_name(self) -> str:
        """The last word of the name (empty for one-word names)."""
        words = self.name.split()
        return words[-1] if len(words) > 1 else ""


@dataclass(frozen=True, slots=True)
class Links:
    """The tracked addresses of one recipient."""

    click: str
    report: str
    pixel: str

    @classmethod
    def for_rid(cls, base_url: str, rid: str) -> Links:
        """The stable paths on `CAREWALL_BASE_URL` (admins allow-list them in the mail filter)."""
        return cls(f"{base_url}/s/c/{rid}", f"{base_url}/s/r/{rid}", f"{base_url}/s/o/{rid}.gif")


def values(scenario: Scenario, person: Person, settings: Settings, links: Links) -> dict[str, str]:
    """Placeholder values for one person."""
    del scenario  # every template gets the same placeholders
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "name": person.name or person.first_name,
        "email": person.email,
        "department": person.department,
        "practice": settings.practice_name,
        "sim_domain": settings.campaign_sender_domain,
        "link": links.click,
        "report_link": links.report,
    }


def fill(text: str, mapping: dict[str, str], *, as_html: bool = False) -> str:
    """Replace placeholders; unknown ones become empty (never left for the reader to see)."""

    def one(match: re.Match[str]) -> str:
        value = mapping.get(match.group(1), "")
        return html.escape(value, quote=True) if as_html else value

    return _PLACEHOLDER.sub(one, text)


def _footer_text(links: Links) -> str:
    return f"\n--\nNot sure about this message? Report it to the security team: {links.report}\n"


def _footer_html(links: Links) -> str:
    report = html.escape(links.report, quote=True)
    return (
        "<hr><p>Not sure about this message? "
        f'<a href="{report}">Report it to the security team</a>.</p>'
    )


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the message is for and the ids that make it ours and traceable."""

    campaign_id: str
    rid: str
    message_id: str
    marker: str


def build_message(
    scenario: Scenario,
    person: Person,
    settings: Settings,
    envelope: Envelope,
    *,
    report_footer: bool = True,
    subject_prefix: str = "",
) -> Message:
    """The complete simulated message for one recipient (text and HTML alternatives).

    Built with the classic `email.mime` classes: a campaign builds thousands,
    and they cost a fraction of `EmailMessage` with the modern policy.
    """
    links = Links.for_rid(settings.public_url, envelope.rid)
    mapping = values(scenario, person, settings, links)
    text = fill(scenario.text, mapping) + (_footer_text(links) if report_footer else "")
    body_html = fill(scenario.html, mapping, as_html=True)
    if report_footer:
        body_html += _footer_html(links)
    pixel = html.escape(links.pixel, quote=True)
    body_html += f'<img src="{pixel}" width="1" height="1" alt="">'
    message = MIMEMultipart("alternative")
    sender = (fill(scenario.sender_name, mapping), fill(scenario.sender_address, mapping))
    message["From"] = formataddr(sender, charset="utf-8")
    message["To"] = person.email
    message["Subject"] = _header(subject_prefix + fill(scenario.subject, mapping))
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = envelope.message_id
    message[HEADER] = envelope.marker
    message.attach(_part("plain", text))
    message.attach(_part("html", f"<!doctype html><html><body>{body_html}</body></html>"))
    return message


def _header(value: str) -> str:
    """ASCII as is; anything else encoded (RFC 2047) so every server accepts it."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _part(subtype: str, body: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, _UTF8)
    return part


def _charset() -> Charset:
    charset = Charset("utf-8")
    charset.body_encoding = QP  # readable in any mail client's "show source"
    return charset


_UTF8 = _charset()


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text, highlighted as red flag `flag` (1-based) when not None."""

    text: str
    flag: int | None = None


@dataclass(frozen=True, slots=True)
class Annotated:
    """The message as the teachable moment shows it: each part split around its red flags."""

    sender: tuple[Segment, ...]
    subject: tuple[Segment, ...]
    body: tuple[Segment, ...]
    landing: tuple[Segment, ...]  # the page the link led to (empty without one)
    flags: tuple[tuple[int, str, str], ...]  # (number, quote as shown, why)


def _pattern(quote: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in quote.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def _split(text: str, spans: list[tuple[int, int, int]]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    position = 0
    for start, end, number in sorted(spans):
        if start < position:
            continue  # overlapping quotes: the first one wins
        if start > position:
            segments.append(Segment(text[position:start]))
        segments.append(Segment(text[start:end], number))
        position = end
    if position < len(text):
        segments.append(Segment(text[position:]))
    return tuple(segments)


def _landing_text(scenario: Scenario, mapping: dict[str, str]) -> str:
    page = scenario.landing_page
    if scenario.landing == "none":
        return ""
    lines = [page.brand, page.heading, page.intro, page.button]
    return "\n".join(fill(line, mapping) for line in lines if line)


def annotate(scenario: Scenario, person: Person, settings: Settings) -> Annotated:
    """The message with its red flags marked where they occur, for the teachable moment.

    The link is shown as the lookalike address an attacker would have used,
    never as the tracked link (which would count another click).
    """
    shown_link = f"https://{settings.campaign_sender_domain}/{scenario.link_path}"
    links = Links(click=shown_link, report="", pixel="")
    mapping = values(scenario, person, settings, links)
    parts = {
        "sender": f"{fill(scenario.sender_name, mapping)} "
        f"<{fill(scenario.sender_address, mapping)}>",
        "subject": fill(scenario.subject, mapping),
        "body": fill(scenario.text, mapping).strip(),
        "landing": _landing_text(scenario, mapping),
    }
    spans: dict[str, list[tuple[int, int, int]]] = {key: [] for key in parts}
    flags = []
    for number, flag in enumerate(scenario.red_flags, start=1):
        quote = fill(flag.quote, mapping)
        flags.append((number, quote, flag.why))
        for key, text in parts.items():
            match = _pattern(quote).search(text)
            if match:
                spans[key].append((match.start(), match.end(), number))
                break
    return Annotated(
        sender=_split(parts["sender"], spans["sender"]),
        subject=_split(parts["subject"], spans["subject"]),
        body=_split(parts["body"], spans["body"]),
        landing=_split(parts["landing"], spans["landing"]),
        flags=tuple(flags),
    )
