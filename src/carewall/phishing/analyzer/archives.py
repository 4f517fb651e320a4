"""Look inside attachments without executing or fully extracting them.

Only metadata is read: zip directory entries (names, encryption flag) and,
for OLE documents, whether oletools finds a VBA project. Everything runs on
the bounded payload prefix kept by the parser.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

from carewall.phishing.analyzer.limits import MAX_ARCHIVE_MEMBERS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class ZipListing:
    """What a zip's central directory says about its members."""

    names: tuple[str, ...]
    encrypted: bool
    has_vba_project: bool


def list_zip(payload: bytes) -> ZipListing | None:
    """Member names and flags of a zip, or None if it cannot be read."""
    if not payload.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            infos = archive.infolist()[:MAX_ARCHIVE_MEMBERS]
    except Exception:
        return _scan_local_headers(payload)
    names = tuple(i.filename for i in infos)
    return ZipListing(
        names=names,
        encrypted=any(i.flag_bits & 0x1 for i in infos),
        has_vba_project=any(n.lower().endswith("vbaproject.bin") for n in names),
    )


def _scan_local_headers(payload: bytes) -> ZipListing | None:
    """Fallback for zips whose central directory is missing (truncated on purpose)."""
    names: list[str] = []
    encrypted = False
    pos = payload.find(ZIP_MAGIC)
    while pos != -1 and len(names) < MAX_ARCHIVE_MEMBERS and pos + 30 <= len(payload):
        flags = int.from_bytes(payload[pos + 6 : pos + 8], "little")
        name_len = int.from_bytes(payload[pos + 26 : pos + 28], "little")
        names.append(payload[pos + 30 : pos + 30 + name_len].decode("cp437", "replace"))
        encrypted = encrypted or bool(flags & 0x1)
        pos = payload.find(ZIP_MAGIC, pos + 30 + name_len)
    if not names:
        return None
    vba = any(n.lower().endswith("vbaproject.bin") for n in names)
    return ZipListing(tuple(names), encrypted, vba)


def _olevba() -> Any:
    # olevba's import triggers a pyparsing deprecation warning we cannot fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oletools import olevba
    return olevba


def ole_has_macros(filename: str, payload: bytes) -> bool:
    """Whether an OLE (legacy Office) file carries VBA macros, per oletools."""
    if not payload.startswith(OLE_MAGIC):
        return False
    try:
        parser = _olevba().VBA_Parser(filename or "attachment.bin", data=payload)
    except Exception:
        return False
    try:
        return bool(parser.detect_vba_macros())
    except Exception:
        return False
    finally:
        parser.close()


def sniff(payload: bytes) -> str:
    """A coarse file family from magic bytes: exe, zip, ole, pdf, html, svg, image or ''."""
    head = payload[:512].lstrip()
    lower = head[:256].lower()
    families = (
        (head.startswith(b"MZ"), "exe"),
        (head.startswith(ZIP_MAGIC), "zip"),
        (head.startswith(OLE_MAGIC), "ole"),
        (head.startswith(b"%PDF"), "pdf"),
        (lower.startswith((b"<!doctype html", b"<html", b"<script", b"<head")), "html"),
        (b"<svg" in lower, "svg"),
        (head.startswith((b"\x89PNG", b"GIF8", b"\xff\xd8\xff")), "image"),
        (head.startswith((b"Rar!", b"7z\xbc\xaf")), "archive"),
    )
    return next((name for matched, name in families if matched), "")
