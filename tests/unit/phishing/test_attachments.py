"""Attachment rules with small synthetic files."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from carewall.phishing.analyzer import analyze_bytes


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted_zip() -> bytes:
    """A zip whose only member has the 'encrypted' flag bit set (content is irrelevant)."""
    data = bytearray(zip_bytes({"invoice.pdf": b"%PDF-1.4 fake"}))
    for magic, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(magic)
        flags = struct.unpack_from("<H", data, pos + flag_offset)[0]
        struct.pack_into("<H", data, pos + flag_offset, flags | 0x1)
    return bytes(data)


def attach_ids(make_mail, name: str, mime: str, data: bytes) -> frozenset[str]:
    return analyze_bytes(make_mail(attachments=[(name, mime, data)])).signal_ids()


@pytest.mark.parametrize(
    ("name", "mime", "data", "expected"),
    [
        ("setup.exe", "application/octet-stream", b"MZ\x90\x00", "attach.executable"),
        ("invoice.js", "application/javascript", b"var a=1;", "attach.executable"),
        ("update.hta", "application/hta", b"<html></html>", "attach.executable"),
        ("shortcut.lnk", "application/octet-stream", b"L\x00\x00\x00", "attach.executable"),
        ("scan.iso", "application/octet-stream", b"\x00" * 64, "attach.disk_image"),
        ("notes.one", "application/onenote", b"\x00" * 64, "attach.onenote"),
        ("statement.html", "text/html", b"<html><form></form></html>", "attach.html"),
        ("invoice.pdf.exe", "application/octet-stream", b"MZ\x90\x00", "attach.double_extension"),
        (
            "report.docm",
            "application/vnd.ms-word.document.macroEnabled.12",
            b"PK",
            "attach.macro_office",
        ),
        (
            "invoice.pdf",
            "application/pdf",
            b"<html><body>login</body></html>",
            "attach.type_mismatch",
        ),
        (
            "photo.svg",
            "image/svg+xml",
            b"<svg><script>alert(1)</script></svg>",
            "attach.svg_script",
        ),
        ("files.zip", "application/zip", encrypted_zip(), "attach.encrypted_archive"),
        (
            "files.zip",
            "application/zip",
            zip_bytes({"a/run.exe": b"MZ"}),
            "attach.archive_risky_member",
        ),
        (
            "pay.docx",
            "application/octet-stream",
            zip_bytes({"word/vbaProject.bin": b"x"}),
            "attach.macro",
        ),
        (
            "doc.pdf",
            "application/pdf",
            b"%PDF-1.4 /OpenAction << /JS (app.alert(1)) >>",
            "attach.pdf_active",
        ),
        ("fact\u202efdp.exe", "application/octet-stream", b"MZ", "attach.rtlo_name"),
    ],
)
def test_attachment_rule_fires(make_mail, name, mime, data, expected):
    assert expected in attach_ids(make_mail, name, mime, data)


def test_ordinary_pdf_is_fine(make_mail):
    found = attach_ids(make_mail, "minutes.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj\n<<>>\n")
    assert not {s for s in found if s.startswith("attach.")}


def test_plain_svg_image_is_fine(make_mail):
    found = attach_ids(make_mail, "logo.svg", "image/svg+xml", b"<svg><rect/></svg>")
    assert "attach.svg_script" not in found


def test_ole_document_without_macros_is_fine(make_mail):
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    found = attach_ids(make_mail, "old.doc", "application/msword", ole_header)
    assert "attach.macro" not in found
