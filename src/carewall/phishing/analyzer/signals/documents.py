"""What the attachments say and point to, and identities written to dodge matching.

Quishing puts the phishing link in a QR code (in an image or a PDF) so the
victim opens it on a phone; PDF lures carry the link and the pressure in
the attachment and leave the body almost empty. Both are judged against
the sender's organisation: a vendor's invoice that links to the vendor is
not a lure. Display names and subjects salted with invisible or stacked
characters (zero-width, variation selectors, tag characters, foreign
combining marks) are cleaned before brand matching and scored here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.resources import find_phrases, host_in
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.signals.deception import organisation_domains
from carewall.phishing.analyzer.signals.identity import claimed_brand
from carewall.phishing.analyzer.urls import parse_url
from carewall.phishing.analyzer.view import MessageView

_PRESSURE = frozenset(
    {"urgency", "threat", "credential", "payment", "document_lure", "reward", "crypto"}
)
_WORD = re.compile(r"\w{2,}")
_NEAR_EMPTY_WORDS = 12
_MIN_HIDDEN = 2
_MIN_DENSE_HIDDEN = 5
_DENSE_SHARE = 0.15
_DOCUMENT_TYPES = ("application/", "text/html", "image/svg")


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """QR codes and PDF links leading away, lures in PDFs, empty lures, hidden characters."""
    own = organisation_domains(view) | context.org_domains
    yield from _qr(view, own)
    yield from _pdf(view, own)
    yield from _empty_body_brand(view)
    yield from _invisible(view)


def _invisible(view: MessageView) -> Iterator[Hit]:
    """Invisible characters in the sender name and subject, scored by count and density.

    Density is the share of the characters written that do not show: one
    stray joiner is a copy-paste accident, a name where every other
    character is invisible was built to split words for filters.
    """
    hidden = view.sender.hidden_chars + view.subject_hidden_chars
    if hidden < _MIN_HIDDEN:
        return
    shown = len(view.sender.display) + len(view.subject)
    density = hidden / (shown + hidden)
    evidence = (
        f"{hidden} invisible or stacked character(s), {density:.0%} of what was written, "
        f"in the sender name or subject: {view.sender.display[:80]!r} / {view.subject[:80]!r}"
    )
    yield Hit("identity.invisible_characters", evidence)
    if hidden >= _MIN_DENSE_HIDDEN and density >= _DENSE_SHARE:
        yield Hit("identity.invisible_characters_dense", evidence)


def _outside(url: str, own: frozenset[str]) -> bool:
    parsed = parse_url(url.strip())
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.host:
        return False
    return parsed.registered not in own and host_in(parsed.host, own) is None


def _qr(view: MessageView, own: frozenset[str]) -> Iterator[Hit]:
    for label, text in view.documents.qr_codes:
        if _outside(text, own):
            yield Hit("attach.qr_link", f"QR code in {label}: {text[:200]}")


def _pdf(view: MessageView, own: frozenset[str]) -> Iterator[Hit]:
    for label, url in view.documents.pdf_links:
        if _outside(url, own):
            yield Hit("attach.pdf_link", f"{label}: {url[:200]}")
    text = view.documents.pdf_text
    if text:
        found = {f: p for f, p in find_phrases(text[:20_000]).items() if f in _PRESSURE}
        if found:
            phrases = "; ".join(f"{f}: {', '.join(p)}" for f, p in sorted(found.items()))
            yield Hit("content.lure_in_attachment", phrases[:300])


def _empty_body_brand(view: MessageView) -> Iterator[Hit]:
    """Almost no text, a document attached, and a brand in the display name the sender is not."""
    documents = [
        a for a in view.parsed.attachments
        if not a.inline or a.content_type.startswith(_DOCUMENT_TYPES)
    ]  # fmt: skip
    if not documents:
        return
    words = len(_WORD.findall(view.body_text[:5_000]))
    if words > _NEAR_EMPTY_WORDS:
        return
    brand = claimed_brand(view.sender.display) or claimed_brand(view.subject)
    if brand is None or host_in(view.sender.domain, brand[0].domains) is not None:
        return
    names = ", ".join(a.filename or a.content_type for a in documents[:3])
    yield Hit(
        "content.empty_body_attachment",
        f"{words} word(s) of text, attachment {names}, "
        f"claims {brand[1]} from {view.sender.address}",
    )
