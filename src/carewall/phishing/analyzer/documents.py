"""Links and QR codes hidden where the message body does not show them.

Attackers move the link out of the HTML, where filters look, into a PDF
attachment (a link annotation or a printed URL) or into a QR code in a PDF
or an image ("quishing"), to be scanned with a phone that no mail filter
protects. This module reads them out, bounded: PDFs with ``pypdf`` (first
pages only, no rendering, so a QR code drawn as vector graphics is not
seen), images with Pillow and QR decoding with ``zxing-cpp``. Nothing
here raises: a document that cannot be read yields nothing.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from carewall.phishing.analyzer.limits import (
    MAX_DOCUMENT_IMAGES,
    MAX_IMAGE_PIXELS,
    MAX_PDF_PAGES,
    MAX_PDF_TEXT_CHARS,
)
from carewall.phishing.analyzer.parse import Attachment
from carewall.phishing.analyzer.urls import urls_in_text

_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/gif", "image/bmp", "image/webp"}
)
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")
_MIN_QR_SIDE = 21
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class DocumentFacts:
    """What the attachments carry beyond their names."""

    #: (attachment label, URL) of links inside PDFs: annotations and printed URLs.
    pdf_links: list[tuple[str, str]] = field(default_factory=list)
    #: (attachment label, decoded text) of QR codes in PDFs and images.
    qr_codes: list[tuple[str, str]] = field(default_factory=list)
    #: Visible text of the PDFs, capped (for lure phrases).
    pdf_text: str = ""


def scan_attachments(attachments: list[Attachment]) -> DocumentFacts:
    """Read links, text and QR codes out of PDF and image attachments."""
    facts = DocumentFacts()
    images_left = MAX_DOCUMENT_IMAGES
    for att in attachments:
        label = att.filename or att.content_type
        if att.payload.startswith(b"%PDF") or att.payload[:1024].find(b"%PDF-") != -1:
            images_left -= _scan_pdf(att.payload, label, facts, images_left)
        elif images_left > 0 and _is_image(att):
            images_left -= 1
            for text in decode_qr_image_bytes(att.payload):
                facts.qr_codes.append((label, text))
    return facts


def _is_image(att: Attachment) -> bool:
    return att.content_type in _IMAGE_TYPES or att.payload.startswith(_IMAGE_MAGIC)


def _scan_pdf(payload: bytes, label: str, facts: DocumentFacts, images_left: int) -> int:
    """Links, text and QR codes of the first pages; returns the images decoded."""
    try:
        from pypdf import PdfReader  # imported here: most messages carry no PDF

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pypdf").setLevel(logging.ERROR)
            reader = PdfReader(io.BytesIO(payload), strict=False)
            pages = list(reader.pages[:MAX_PDF_PAGES])
    except Exception:
        return 0
    used = 0
    for number, page in enumerate(pages):
        facts.pdf_links.extend((label, uri) for uri in _annotation_uris(page))
        # Text extraction parses the whole content stream: the first page carries the lure.
        text = _page_text(page) if number == 0 else ""
        if text:
            room = MAX_PDF_TEXT_CHARS - len(facts.pdf_text)
            facts.pdf_text += text[: max(room, 0)] + "\n"
            facts.pdf_links.extend((label, url) for url in urls_in_text(text[:MAX_PDF_TEXT_CHARS]))
        if used < images_left:
            for decoded in _page_qr(page, images_left - used):
                facts.qr_codes.append((label, decoded))
            used += 1
    return used


def _annotation_uris(page: Any) -> list[str]:
    out: list[str] = []
    try:
        annotations = page.get("/Annots") or []
        for ref in list(annotations)[:200]:
            annot = ref.get_object()
            action = annot.get("/A")
            action = action.get_object() if action is not None else None
            uri = action.get("/URI") if action is not None else None
            if uri:
                out.append(str(uri)[:2048])
    except Exception:  # noqa: S110 - a broken annotation is not evidence
        pass
    return out


def _page_text(page: Any) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(page.extract_text() or "")[:MAX_PDF_TEXT_CHARS]
    except Exception:
        return ""


def _page_qr(page: Any, limit: int) -> list[str]:
    found: list[str] = []
    try:
        images = list(page.images)[:limit]
    except Exception:
        return found
    for image in images:
        try:
            found.extend(decode_qr_image_bytes(image.data))
        except Exception:
            _log.debug("unreadable PDF image")
    return found


def decode_qr_image_bytes(data: bytes) -> list[str]:
    """Texts of the QR codes in an encoded image (PNG, JPEG, GIF, ...); [] if none or unreadable."""
    try:
        import zxingcpp
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS or min(width, height) < _MIN_QR_SIDE:
                return []
            image.draft("L", (width, height))
            gray = image.convert("L")
        results = zxingcpp.read_barcodes(
            gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    except Exception:
        return []
    return [r.text[:2048] for r in results if r.text]
