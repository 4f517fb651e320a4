"""Everything the rules read, derived once per message.

Rules never parse MIME or HTML themselves: they receive this view, so each
message is decoded, scanned and URL-split exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carewall.phishing.analyzer.documents import DocumentFacts, scan_attachments
from carewall.phishing.analyzer.htmlscan import HtmlFacts, Link, scan_html
from carewall.phishing.analyzer.limits import MAX_HTML_CHARS, MAX_LINKS, MAX_SCAN_CHARS
from carewall.phishing.analyzer.parse import ParsedMessage
from carewall.phishing.analyzer.resources import find_phrases
from carewall.phishing.analyzer.textutil import strip_invisible
from carewall.phishing.analyzer.urls import (
    ParsedUrl,
    host_of_address,
    parse_url,
    registered_domain,
    urls_in_text,
)


@dataclass(frozen=True, slots=True)
class LinkRef:
    """A link found anywhere in the message, parsed once."""

    raw: str
    text: str
    tag: str
    url: ParsedUrl | None


@dataclass(frozen=True, slots=True)
class Party:
    """An address header split into the parts rules compare."""

    display: str
    address: str
    domain: str
    registered: str
    #: The address as written (case kept), for rules that look at its shape.
    written: str = ""
    #: Invisible or stacked characters removed from the display name (it is shown cleaned).
    hidden_chars: int = 0


@dataclass(slots=True)
class MessageView:
    """A parsed message plus the derived facts every rule family uses."""

    parsed: ParsedMessage
    sender: Party
    reply_to: Party
    return_path: Party
    subject: str
    html: HtmlFacts
    html_raw: str
    plain_text: str
    raw: bytes = b""
    links: list[LinkRef] = field(default_factory=list)
    documents: DocumentFacts = field(default_factory=DocumentFacts)
    #: Invisible or stacked characters removed from the subject.
    subject_hidden_chars: int = 0
    # Derived once on first use: several rule families read them.
    _body_text: str | None = None
    _scan_text: str | None = None
    _phrases: dict[str, list[str]] | None = None

    @property
    def body_text(self) -> str:
        """Visible body text: the HTML's visible text, else the plain part."""
        if self._body_text is None:
            visible = self.html.text
            use_html = len(visible) >= len(self.plain_text) // 4
            self._body_text = visible if use_html else self.plain_text
        return self._body_text

    @property
    def scan_text(self) -> str:
        """Subject and visible body, capped, for the phrase rules."""
        if self._scan_text is None:
            self._scan_text = (self.subject + "\n" + self.body_text)[:MAX_SCAN_CHARS]
        return self._scan_text

    @property
    def phrases(self) -> dict[str, list[str]]:
        """Lure family -> up to three phrases of it found in :attr:`scan_text`."""
        if self._phrases is None:
            self._phrases = find_phrases(self.scan_text)
        return self._phrases


def _party(parsed: ParsedMessage, header: str) -> Party:
    display, written = parsed.address(header)
    display, hidden = strip_invisible(display)
    address = written.lower()
    domain = host_of_address(address)
    registered = registered_domain(domain) if domain else ""
    return Party(display, address, domain, registered, written, hidden)


def _merge_html(parts: list[str]) -> tuple[str, HtmlFacts]:
    raw = "\n".join(parts)[:MAX_HTML_CHARS]
    return raw, scan_html(raw) if raw else HtmlFacts()


def build_view(parsed: ParsedMessage, raw: bytes = b"") -> MessageView:
    """Derive the view; cheap for plain mail, one HTML pass for HTML mail."""
    html_raw, facts = _merge_html(parsed.html_parts)
    plain = "\n".join(parsed.plain_parts)[:MAX_SCAN_CHARS]
    subject, subject_hidden = strip_invisible(parsed.subject)
    view = MessageView(
        parsed=parsed,
        sender=_party(parsed, "from"),
        reply_to=_party(parsed, "reply-to"),
        return_path=_party(parsed, "return-path"),
        subject=subject,
        html=facts,
        html_raw=html_raw,
        plain_text=plain,
        raw=raw,
        subject_hidden_chars=subject_hidden,
    )
    view.links = _collect_links(facts.links, plain)
    if parsed.attachments:
        view.documents = scan_attachments(parsed.attachments)
        view.links.extend(_document_links(view.documents, len(view.links)))
    return view


def _document_links(documents: DocumentFacts, already: int) -> list[LinkRef]:
    """Links read out of PDFs and QR codes, as links of the message (tagged by origin)."""
    refs: list[LinkRef] = []
    found = [(url, "pdf") for _, url in documents.pdf_links]
    found += [(text.strip(), "qr") for _, text in documents.qr_codes]
    seen: set[str] = set()
    for url, tag in found:
        if url in seen or already + len(refs) >= MAX_LINKS:
            continue
        seen.add(url)
        parsed = parse_url(url)
        if parsed is not None:
            refs.append(LinkRef(url, "", tag, parsed))
    return refs


def _collect_links(html_links: list[Link], plain: str) -> list[LinkRef]:
    refs: list[LinkRef] = []
    seen: set[str] = set()
    for link in html_links:
        refs.append(LinkRef(link.href, link.text, link.tag, parse_url(link.href)))
        seen.add(link.href)
    for url in urls_in_text(plain):
        if url not in seen and len(refs) < MAX_LINKS:
            seen.add(url)
            refs.append(LinkRef(url, "", "text", parse_url(url)))
    return refs
