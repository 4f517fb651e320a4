"""What the message says, and what it tries to hide from filters.

Lure phrases are grouped by the pressure they apply (urgency, threat,
credentials, payment, healthcare and document lures, rewards); each
family counts once however often it appears. Obfuscation rules look for
text made for machines rather than readers: hidden blocks, zero-width
characters inside words, letters spelt as numeric entities, mixed-script
words and script or encoded payloads in the HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.view import MessageView

_LURE_IDS = {
    "urgency": "content.urgency",
    "threat": "content.threat",
    "credential": "content.credential_request",
    "payment": "content.payment_request",
    "healthcare": "content.healthcare_lure",
    "document_lure": "content.document_lure",
    "reward": "content.reward_lure",
    "call_to_action": "content.call_to_action",
    "crypto": "content.crypto_lure",
    "spam_offer": "content.spam_offer",
    "advance_fee": "content.advance_fee",
}
#: Families strong enough that three of them together are a pattern of their own.
_PRESSURE_FAMILIES = frozenset(_LURE_IDS.values()) - {"content.call_to_action"}
_MIN_LURE_FAMILIES = 3
_MONEY = re.compile(
    r"(?:[$€£]|r\$|usd|eur|usdt|btc)\s?\d{1,3}(?:[.,\s]\d{3})+|(?:[$€£]|r\$)\s?\d{4,}"
    r"|\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{2})?\s?(?:€|\$|usd|eur|euros?|dollars|reais|usdt|btc)"
    r"|\d{4,}\s?(?:€|usd|eur|euros?|dollars|usdt)(?![\w])",
    re.IGNORECASE,
)
_FANCY = re.compile(r"[\U0001d400-\U0001d7ff\uff21-\uff5a\u24b6-\u24e9\U0001f130-\U0001f189]")
_ZERO_WIDTH_IN_WORD = re.compile(r"\w[\u200b\u200c\u200d\u2060\u00ad\ufeff]+\w")
_NUMERIC_ENTITY = re.compile(r"&#(?:(\d{1,7})|[xX]([0-9a-fA-F]{1,6}));?")
_MIXED_SCRIPT = re.compile(
    r"[a-zA-Z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][a-zA-Z]"
)
_ENCODED_PAYLOAD = re.compile(
    r"atob\s*\(|unescape\s*\(|fromcharcode|eval\s*\(|document\.write\s*\(|"
    r"data:(?:text/html|application/(?:x-)?javascript)|window\.location|location\.(?:href|replace)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w{2,}")
_MIN_HIDDEN_CHARS = 200
_MIN_ZERO_WIDTH = 5
_MIN_ENTITIES = 40
_MIN_MIXED = 3
_IMAGE_ONLY_WORDS = 25
_IMAGE_HEAVY_WORDS = 80


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Lure phrases in the visible text, then obfuscation in the markup."""
    text = view.scan_text
    fired: list[str] = []
    for family, found in view.phrases.items():
        fired.append(_LURE_IDS[family])
        yield Hit(_LURE_IDS[family], ", ".join(found))
    pressure = [f for f in fired if f in _PRESSURE_FAMILIES]
    if len(pressure) >= _MIN_LURE_FAMILIES:
        yield Hit("content.many_lures", ", ".join(p.split(".", 1)[1] for p in pressure))
    letters = [c for c in view.subject if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        yield Hit("content.subject_all_caps", view.subject[:120])
    money = _MONEY.search(text)
    if money:
        yield Hit("content.money_amount", money.group(0))
    fancy = _FANCY.findall(text)
    if len(fancy) >= _MIN_MIXED:
        yield Hit("content.styled_letters", "".join(fancy[:20]))
    yield from _obfuscation(view, text)
    yield from _image_only(view)


def _obfuscation(view: MessageView, text: str) -> Iterator[Hit]:
    hidden = " ".join(" ".join(view.html.hidden_text).split())
    if len(hidden) >= _MIN_HIDDEN_CHARS:
        yield Hit("content.hidden_text", f"{len(hidden)} hidden characters: {hidden[:120]!r}")
    zero_width = _ZERO_WIDTH_IN_WORD.findall(text)
    if len(zero_width) >= _MIN_ZERO_WIDTH:
        yield Hit("content.zero_width", f"{len(zero_width)} zero-width characters inside words")
    mixed = _MIXED_SCRIPT.findall(text)
    if len(mixed) >= _MIN_MIXED:
        yield Hit(
            "content.mixed_script", f"{len(mixed)} Latin/Cyrillic/Greek mixes, e.g. {mixed[0]!r}"
        )
    raw = view.html_raw
    if not raw:
        return
    entities = _count_alnum_entities(raw)
    if entities >= _MIN_ENTITIES:
        yield Hit("content.entity_obfuscation", f"{entities} letters written as numeric entities")
    if view.html.scripts or view.html.event_handlers:
        yield Hit("content.script", f"{view.html.scripts} <script> element(s) in the body")
    payload = _encoded_payload(" ".join(view.html.script_text) or raw[:200_000])
    if payload:
        yield Hit("content.encoded_payload", payload.group(0))


def _image_only(view: MessageView) -> Iterator[Hit]:
    """Stand-in for QR detection: images carrying the message, almost no text."""
    images = len(view.html.images) + sum(
        1 for a in view.parsed.attachments if a.content_type.startswith("image/")
    )
    if not images:
        return
    words = len(_WORD.findall(view.body_text[:20_000]))
    if words < _IMAGE_ONLY_WORDS:
        yield Hit("content.image_only", f"{images} image(s), {words} words of text")
    elif words < _IMAGE_HEAVY_WORDS:
        # Graded like SpamAssassin's HTML_IMAGE_ONLY_* rules: less text, more weight.
        yield Hit("content.image_heavy", f"{images} image(s), only {words} words of text")


#: Literal parts of ``_ENCODED_PAYLOAD``: when none occurs, the regex cannot match.
_PAYLOAD_WORDS = ("atob", "unescape", "fromcharcode", "eval", "document.write", "data:", "location")


def _encoded_payload(text: str) -> re.Match[str] | None:
    lowered = text.lower()
    if not any(word in lowered for word in _PAYLOAD_WORDS):
        return None
    return _ENCODED_PAYLOAD.search(text)


def _count_alnum_entities(raw: str) -> int:
    """Numeric character references that spell plain letters or digits.

    Legitimate HTML uses them for quotes and dashes; spelling ``P`` as
    ``&#80;`` only serves to hide words from filters.
    """
    count = 0
    if "&#" not in raw:
        return 0
    for match in _NUMERIC_ENTITY.finditer(raw):
        decimal, hexadecimal = match.groups()
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if code < 128 and chr(code).isalnum():
            count += 1
    return count
