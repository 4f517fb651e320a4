"""A linear-time HTML tokenizer for hostile input.

The standard library's ``html.parser`` rescans the rest of the document
for every unterminated construct, so a few hundred kilobytes of ``<a<a<a``
take minutes: a denial of service for a mail scanner. This tokenizer
only moves forward: each ``<`` is looked at once, the position of the
next ``>`` is remembered, comments and raw-text elements jump to their
end, and attribute values always match (an unterminated quote runs to
the end of the tag) so the attribute regex never backtracks over a tag.

It is deliberately simpler than a browser: it answers "which tags, which
attributes, which text", which is all the rules need.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Protocol

_TAG_NAME = re.compile(r"/?\s{0,5}([a-zA-Z][a-zA-Z0-9:-]{0,40})")
_ATTR = re.compile(
    r"""([^\s=/>"']{1,200})(?:\s*=\s*(?:"([^"]*)(?:"|$)|'([^']*)(?:'|$)|([^\s"'>]*)))?"""
)
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp"})
_MAX_TAG_CHARS = 16_384


class TokenHandler(Protocol):
    """What the tokenizer reports, with the same signatures as ``html.parser``."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None: ...

    def handle_endtag(self, tag: str) -> None: ...

    def handle_data(self, data: str) -> None: ...


def tokenize(html: str, handler: TokenHandler) -> None:
    """Report every tag and text run of ``html`` to ``handler``, in order, in linear time."""
    size = len(html)
    pos = 0
    next_gt = -1
    lower: str | None = None
    while pos < size:
        lt = html.find("<", pos)
        if lt == -1:
            _text(handler, html[pos:])
            return
        if lt > pos:
            _text(handler, html[pos:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            pos = size if end == -1 else end + 3
            continue
        if next_gt < lt:
            next_gt = html.find(">", lt)
        if next_gt == -1:
            _text(handler, html[lt:])
            return
        inner = html.find("<", lt + 1, next_gt)
        if inner != -1:
            _text(handler, html[lt:inner])
            pos = inner
            continue
        pos = next_gt + 1
        name = _tag(handler, html[lt + 1 : next_gt])
        if name in _RAW_TEXT:
            lower = lower if lower is not None else html.lower()
            end = lower.find("</" + name, pos)
            end = size if end == -1 else end
            if end > pos:
                handler.handle_data(html[pos:end])
            pos = end


def _text(handler: TokenHandler, data: str) -> None:
    if data:
        handler.handle_data(unescape(data) if "&" in data else data)


def _tag(handler: TokenHandler, body: str) -> str:
    """Report one tag; returns the name of an opened element, or ''."""
    if not body or body[0] in "!?":
        return ""
    match = _TAG_NAME.match(body)
    if match is None:
        _text(handler, "<" + body + ">")
        return ""
    name = match.group(1).lower()
    if body.startswith("/"):
        handler.handle_endtag(name)
        return ""
    attrs: list[tuple[str, str | None]] = []
    for attr in _ATTR.finditer(body[match.end() : _MAX_TAG_CHARS]):
        key, double, single, bare = attr.groups()
        value = double if double is not None else single if single is not None else bare
        if value is not None and "&" in value:
            value = unescape(value)
        attrs.append((key.lower(), value))
    handler.handle_starttag(name, attrs)
    return name
