"""One streaming pass over an HTML body.

A tree builder is not needed to answer the questions the rules ask (which
links, which text is visible, which is hidden, are there forms or
scripts). The tokens come from :mod:`htmltokens`, which stays linear on
hostile markup where ``html.parser`` (and BeautifulSoup on top of it)
goes quadratic.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

from carewall.phishing.analyzer.htmltokens import tokenize
from carewall.phishing.analyzer.limits import MAX_HTML_CHARS, MAX_LINKS, MAX_SCAN_CHARS

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_SKIP_TEXT = frozenset({"script", "style", "head", "noscript", "template"})
_MAX_STACK = 512
_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|font-size:0(?![.\d])|opacity:0(?![.\d])"
    r"|max-height:0(?![.\d])|(?<![-\w])(?:width|height):0(?:px)?;[^;]*overflow:hidden"
)
_WHITE_COLOR = re.compile(r"(?<![-\w])color:(?:#fff(?:fff)?|white|rgb\(255,255,255\))(?![\w])")
_BACKGROUND = re.compile(r"background(?:-color)?:")
_EVENT_ATTRS = frozenset(
    {"onload", "onerror", "onclick", "onmouseover", "onfocus", "onanimationstart"}
)
_PERSONAL_FIELD = re.compile(r"mail|user|login|pass|card|cvv|cvc|ssn|account|phone|pin|otp|iban")
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.IGNORECASE)
_TINY_SIZE = re.compile(r"^[01](?:px)?$")
_TINY_STYLE = re.compile(r"(?<![-\w])(?:width|height):[01](?:px)?(?![.\d])")


@dataclass(frozen=True, slots=True)
class Link:
    """A hyperlink and what the reader sees in its place."""

    href: str
    text: str
    tag: str = "a"


@dataclass(slots=True)
class HtmlFacts:
    """What one HTML body contains, as the rules need it."""

    links: list[Link] = field(default_factory=list)
    form_actions: list[str] = field(default_factory=list)
    #: Inputs inside forms that ask for personal data (search boxes excluded).
    data_forms: int = 0
    password_inputs: int = 0
    visible_text: list[str] = field(default_factory=list)
    hidden_text: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    #: Images of at most 1x1 pixel with a source: web beacons that report the open.
    tracking_pixels: int = 0
    scripts: int = 0
    #: Elements with on* event-handler attributes (script without a <script> tag).
    event_handlers: int = 0
    script_text: list[str] = field(default_factory=list)
    visible_chars: int = 0

    @property
    def text(self) -> str:
        """The visible text, space-joined."""
        return " ".join(self.visible_text)


class _Scanner:
    """Receives tokens and keeps the facts (see :mod:`htmltokens`)."""

    def __init__(self) -> None:
        self.facts = HtmlFacts()
        # Open elements: (tag, hides its content, skips its text, sets a background).
        self._stack: list[tuple[str, bool, bool, bool]] = []
        # How many open elements hide, skip or colour: kept with the stack, so a text
        # run is classified without walking a deep table nest each time.
        self._hiding = self._skipping = self._coloured = 0
        self._anchor: tuple[str, list[str]] | None = None

    # -- tags -------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v or "") for k, v in attrs}
        self._note_tag(tag, attr)
        if tag in _VOID or len(self._stack) >= _MAX_STACK:
            return
        style = attr.get("style", "").lower().replace(" ", "")
        has_bg = "bgcolor" in attr or (bool(style) and bool(_BACKGROUND.search(style)))
        hidden = "hidden" in attr or (bool(style) and bool(_HIDDEN_STYLE.search(style)))
        if not hidden and style and _WHITE_COLOR.search(style):
            hidden = not has_bg and not self._coloured
        skip = tag in _SKIP_TEXT
        self._stack.append((tag, hidden, skip, has_bg))
        self._hiding += hidden
        self._skipping += skip
        self._coloured += has_bg

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            href, parts = self._anchor
            self._add_link(href, " ".join(" ".join(parts).split()), "a")
            self._anchor = None
        for i in range(len(self._stack) - 1, max(-1, len(self._stack) - 32), -1):
            if self._stack[i][0] == tag:
                for _, hidden, skip, has_bg in self._stack[i:]:
                    self._hiding -= hidden
                    self._skipping -= skip
                    self._coloured -= has_bg
                del self._stack[i:]
                return

    def _note_tag(self, tag: str, attr: dict[str, str]) -> None:
        facts = self.facts
        if not _EVENT_ATTRS.isdisjoint(attr):
            facts.event_handlers += 1
        if tag == "a":
            if self._anchor is not None:
                self.handle_endtag("a")
            if "href" in attr:
                self._anchor = (attr["href"], [])
        elif tag == "area" and "href" in attr:
            self._add_link(attr["href"], attr.get("alt", ""), "area")
        elif tag == "form":
            facts.form_actions.append(attr.get("action", ""))
        elif tag == "input":
            kind = attr.get("type", "").lower()
            if kind == "password":
                facts.password_inputs += 1
            elif facts.form_actions and kind not in {"hidden", "submit", "button", "image"}:
                name = (attr.get("name", "") + " " + attr.get("id", "")).lower()
                if kind in {"email", "tel"} or _PERSONAL_FIELD.search(name):
                    facts.data_forms += 1
        elif tag == "img":
            facts.images.append(attr.get("src", ""))
            if attr.get("src") and _is_tiny(attr):
                facts.tracking_pixels += 1
            if self._anchor is not None and attr.get("alt"):
                self._anchor[1].append(attr["alt"])
        elif tag == "script":
            facts.scripts += 1
        elif tag in {"iframe", "frame", "embed", "object"}:
            src = attr.get("src") or attr.get("data", "")
            if src:
                self._add_link(src, "", tag)
        elif tag == "meta" and attr.get("http-equiv", "").lower() == "refresh":
            match = _REFRESH_URL.search(attr.get("content", ""))
            if match:
                self._add_link(match.group(1), "", "meta")

    def _add_link(self, href: str, text: str, tag: str) -> None:
        if len(self.facts.links) < MAX_LINKS:
            self.facts.links.append(Link(href=href.strip(), text=text[:500], tag=tag))

    # -- text -------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        if not data or data.isspace():
            return
        facts = self.facts
        if self._skipping:
            if self._stack and self._stack[-1][0] == "script" and len(facts.script_text) < 20:
                facts.script_text.append(data[:20_000])
            return
        if facts.visible_chars >= MAX_SCAN_CHARS:
            return
        facts.visible_chars += len(data)
        if self._hiding:
            facts.hidden_text.append(data)
            return
        facts.visible_text.append(data)
        if self._anchor is not None:
            self._anchor[1].append(data)


def _is_tiny(attr: dict[str, str]) -> bool:
    """Width or height declared as 0 or 1 pixel, by attribute or inline style."""
    width, height = attr.get("width", "").strip(), attr.get("height", "").strip()
    if _TINY_SIZE.match(width) or _TINY_SIZE.match(height):
        return True
    return bool(_TINY_STYLE.search(attr.get("style", "").lower().replace(" ", "")))


def scan_html(html: str) -> HtmlFacts:
    """Scan (a bounded prefix of) an HTML document; malformed markup is fine."""
    scanner = _Scanner()
    # A tokenizer bug must not lose the verdict: keep what was gathered so far.
    with contextlib.suppress(Exception):
        tokenize(html[:MAX_HTML_CHARS], scanner)
    if scanner._anchor is not None:
        scanner.handle_endtag("a")
    return scanner.facts
