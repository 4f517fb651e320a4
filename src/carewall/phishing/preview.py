"""A safe view of a suspicious message: text only, links defanged, evidence marked.

The preview never produces markup. It turns the message into a list of
``Segment`` values (plain text, a defanged link target, a note such as
"image not loaded", each possibly marked as evidence) and templates escape
every one. HTML bodies are reduced to their text: no element, attribute,
style, image, form or script of the message survives, so nothing can load,
run or be clicked. Link targets appear next to their text so a reader sees
where a link really goes.

MIME parsing and HTML tokenizing reuse the analyzer's bounded, linear
implementations, so a hostile message costs the preview no more than the
verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from carewall.phishing.analyzer import Verdict
from carewall.phishing.analyzer.htmltokens import tokenize
from carewall.phishing.analyzer.parse import parse_message
from carewall.phishing.defang import URL_IN_TEXT, defang, split_trailing

SegmentKind = Literal["text", "link", "note"]
MAX_PREVIEW_CHARS = 100_000
_MAX_NEEDLES = 40
_MAX_MARKS = 500
_HEADERS = ("From", "Reply-To", "To", "Cc", "Subject", "Date")
_BLOCK = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "hr", "section", "article", "header", "footer", "center"}
)  # fmt: skip
_SKIP = frozenset({"script", "style", "title", "template", "xml"})


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text to show; ``kind`` decides its styling, ``marked`` highlights evidence."""

    text: str
    kind: SegmentKind = "text"
    marked: bool = False


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """One header as shown, e.g. From, with evidence marked."""

    name: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class AttachmentLine:
    """An attachment's claimed name and type; it is never opened or offered for download."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessagePreview:
    """Everything the page shows about the message itself."""

    headers: tuple[HeaderLine, ...]
    body: tuple[Segment, ...]
    body_source: Literal["html", "plain", "none"]
    truncated: bool
    attachments: tuple[AttachmentLine, ...]


def build_preview(raw: bytes, verdict: Verdict) -> MessagePreview:
    """The safe view of ``raw``, marking what the verdict's signals point at."""
    parsed = parse_message(raw)
    marker = _Marker(_needles(s.evidence for s in verdict.signals))
    headers = tuple(
        HeaderLine(name, tuple(marker.text(parsed.get(name)[:2000])))
        for name in _HEADERS
        if parsed.get(name)
    )
    if parsed.html_parts:
        source: Literal["html", "plain", "none"] = "html"
        body, truncated = _html_segments("\n".join(parsed.html_parts), marker)
    elif parsed.plain_parts:
        source = "plain"
        text = "\n".join(parsed.plain_parts)
        body = marker.text(text[:MAX_PREVIEW_CHARS])
        truncated = len(text) > MAX_PREVIEW_CHARS
    else:
        source, body, truncated = "none", [], False
    attachments = tuple(
        AttachmentLine(a.filename[:200], a.content_type[:100], a.size) for a in parsed.attachments
    )
    return MessagePreview(headers, tuple(_merge(body)), source, truncated, attachments)


def _needles(evidence: Iterable[str]) -> list[str]:
    """Evidence items worth looking for in the text.

    Signals join several items with `` | ``; phrase rules list their phrases
    with commas. A URL is kept whole (it may contain commas).
    """
    found: list[str] = []
    for item in evidence:
        for part in item.split(" | "):
            pieces = [part] if "://" in part else part.split(", ")
            pieces += [w.strip("<>()[],;\"'") for w in part.split() if "@" in w]
            for piece in pieces:
                needle = piece.strip().lower()
                if len(needle) >= 4 and needle not in found:
                    found.append(needle)
    return found[:_MAX_NEEDLES]


class _Marker:
    """Splits text into segments: URLs defanged, evidence occurrences marked."""

    def __init__(self, needles: list[str]) -> None:
        self.needles = needles

    def url_marked(self, url: str) -> bool:
        lowered = url.lower()
        return any(n in lowered or lowered in n for n in self.needles)

    def link(self, url: str) -> Segment:
        return Segment(defang(url[:2000]), "link", self.url_marked(url))

    def text(self, text: str) -> list[Segment]:
        segments: list[Segment] = []
        pos = 0
        for match in URL_IN_TEXT.finditer(text):
            url, _ = split_trailing(match.group(0))
            segments.extend(self._marked_runs(text[pos : match.start()]))
            segments.append(self.link(url))
            pos = match.start() + len(url)
        segments.extend(self._marked_runs(text[pos:]))
        return segments

    def _marked_runs(self, text: str) -> list[Segment]:
        if not text:
            return []
        spans = self._spans(text.lower())
        segments: list[Segment] = []
        pos = 0
        for start, end in spans:
            if start > pos:
                segments.append(Segment(text[pos:start]))
            segments.append(Segment(text[start:end], "text", marked=True))
            pos = end
        if pos < len(text):
            segments.append(Segment(text[pos:]))
        return segments

    def _spans(self, lowered: str) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) of every needle occurrence, in order."""
        spans: list[tuple[int, int]] = []
        for needle in self.needles:
            start = lowered.find(needle)
            while start != -1 and len(spans) < _MAX_MARKS:
                spans.append((start, start + len(needle)))
                start = lowered.find(needle, start + len(needle))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


class _HtmlToSegments:
    """Token handler that keeps the text and turns elements into notes (see module doc)."""

    def __init__(self, marker: _Marker) -> None:
        self.marker = marker
        self.segments: list[Segment] = []
        self.chars = 0
        self.skip = 0
        self.href: str | None = None

    def _emit(self, segments: list[Segment]) -> None:
        if self.chars < MAX_PREVIEW_CHARS:
            self.segments.extend(segments)
            self.chars += sum(len(s.text) for s in segments)

    def _note(self, label: str, url: str = "") -> None:
        self._emit(
            [Segment(f" [{label}"), self.marker.link(url), Segment("] ")]
            if url
            else [Segment(f" [{label}] ", "note")]
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v or "") for k, v in attrs}
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self._emit([Segment("\n")])
        if tag == "a" and attr.get("href"):
            self.href = attr["href"]
        elif tag == "img":
            src = attr.get("src", "")
            inline = src.startswith(("data:", "cid:")) or not src
            self._note("image not loaded" + (": " if not inline else ""), "" if inline else src)
        elif tag == "form":
            self._note("form sending to: ", attr.get("action", "") or "(this page)")
        elif tag == "input" and attr.get("type", "text").lower() not in {"hidden", "submit"}:
            self._note(f"input field: {attr.get('type', 'text')[:20]} {attr.get('name', '')[:40]}")
        elif tag in {"iframe", "frame", "embed", "object"}:
            self._note(f"embedded {tag}: ", attr.get("src", "") or attr.get("data", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "a" and self.href is not None:
            self._emit([Segment(" ["), self.marker.link(self.href), Segment("]")])
            self.href = None
        elif tag in _BLOCK:
            self._emit([Segment("\n")])

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = " ".join(data.split())
        if text:
            lead = " " if data[:1].isspace() else ""
            self._emit(self.marker.text(lead + text + (" " if data[-1:].isspace() else "")))


def _html_segments(html: str, marker: _Marker) -> tuple[list[Segment], bool]:
    handler = _HtmlToSegments(marker)
    tokenize(html, handler)
    return handler.segments, handler.chars >= MAX_PREVIEW_CHARS


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbouring unmarked text and collapse runs of blank lines."""
    merged: list[Segment] = []
    for segment in segments:
        if merged and segment.kind == "text" and not segment.marked:
            last = merged[-1]
            if last.kind == "text" and not last.marked:
                merged[-1] = Segment(_squeeze(last.text + segment.text))
                continue
        merged.append(segment)
    return merged


def _squeeze(text: str) -> str:
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
