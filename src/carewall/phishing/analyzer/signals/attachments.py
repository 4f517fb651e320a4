"""Attachments: what they are, what they claim to be, and what they hide.

Follows the attachment policies of Microsoft Defender and Google
Workspace: executable and script types, disk images, HTML smuggling
files, OneNote, macro-enabled Office files, encrypted archives (which a
scanner cannot open), and names or types built to mislead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carewall.phishing.analyzer.archives import list_zip, ole_has_macros, sniff
from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.parse import Attachment
from carewall.phishing.analyzer.resources import file_types
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.view import MessageView

_RTLO = ("\u202e", "\u202d", "\u2066", "\u2067", "\u2068")
_SVG_ACTIVE = re.compile(
    rb"<script|javascript:|\bon(?:load|click|error|mouseover)\s*=|<foreignobject", re.I
)
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|OpenAction\s*<<[^>]{0,200}/JS)\b")
_PADDED = re.compile(r"\s{5,}\S{0,20}$")
_FAMILY_BY_EXT = {
    "pdf": "pdf", "zip": "zip", "docx": "zip", "xlsx": "zip", "pptx": "zip", "docm": "zip",
    "xlsm": "zip", "doc": "ole", "xls": "ole", "ppt": "ole", "msg": "ole", "png": "image",
    "jpg": "image", "jpeg": "image", "gif": "image", "exe": "exe", "html": "html", "htm": "html",
    "svg": "svg", "txt": "", "csv": "",
}  # fmt: skip


def extension(filename: str) -> str:
    """Last extension, lower case, without the dot."""
    name = filename.strip().rstrip(". ").lower()
    return name.rpartition(".")[2] if "." in name else ""


def risky_extensions() -> frozenset[str]:
    """Everything that runs, mounts or renders script when opened."""
    return (
        file_types("executable")
        | file_types("container")
        | file_types("web")
        | file_types("onenote")
    )


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Attachment rules over every non-body part, nested messages included."""
    for att in view.parsed.attachments:
        yield from _name_rules(att)
        yield from _content_rules(att)


def _name_rules(att: Attachment) -> Iterator[Hit]:
    name = att.filename
    if not name:
        return
    ext = extension(name)
    if any(mark in name for mark in _RTLO):
        yield Hit("attach.rtlo_name", repr(name))
    if ext in file_types("executable"):
        yield Hit("attach.executable", name)
    elif ext in file_types("container"):
        yield Hit("attach.disk_image", name)
    elif ext in file_types("onenote"):
        yield Hit("attach.onenote", name)
    elif ext in file_types("web") and ext not in {"svg", "svgz"}:
        yield Hit("attach.html", name)
    elif ext in file_types("macro_office"):
        yield Hit("attach.macro_office", name)
    if _disguised(name, ext):
        yield Hit("attach.double_extension", name)


def _disguised(name: str, ext: str) -> bool:
    """``invoice.pdf.exe`` or a name padded with spaces to push the real extension away."""
    stem = name.lower().rstrip(". ")[: -len(ext) - 1] if ext else ""
    if _PADDED.search(stem):
        return True
    risky = risky_extensions() | file_types("archive")
    return extension(stem) in file_types("document") and ext in risky


def _content_rules(att: Attachment) -> Iterator[Hit]:
    label = att.filename or att.content_type
    ext = extension(att.filename)
    family = sniff(att.payload)
    expected = _FAMILY_BY_EXT.get(ext)
    if att.filename and expected and family and family != expected:
        yield Hit("attach.type_mismatch", f"{att.filename} ({att.content_type}) is really {family}")
    is_svg = family == "svg" or ext in {"svg", "svgz"} or att.content_type == "image/svg+xml"
    if is_svg and _SVG_ACTIVE.search(att.payload[:2_000_000]):
        yield Hit("attach.svg_script", label)
    if family == "html" and ext not in file_types("web"):
        yield Hit("attach.html", label)
    if family == "pdf" and _PDF_ACTIVE.search(att.payload[:4_000_000]):
        yield Hit("attach.pdf_active", label)
    if family == "ole" and ole_has_macros(att.filename, att.payload):
        yield Hit("attach.macro", label)
    if family == "zip":
        yield from _zip_rules(att, label)


def _zip_rules(att: Attachment, label: str) -> Iterator[Hit]:
    listing = list_zip(att.payload)
    if listing is None:
        return
    if listing.has_vba_project:
        yield Hit("attach.macro", label)
    if listing.encrypted:
        yield Hit("attach.encrypted_archive", label)
    risky = risky_extensions()
    for member in listing.names:
        if extension(member) in risky:
            yield Hit("attach.archive_risky_member", f"{label}: {member}")
            break
