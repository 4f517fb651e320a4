"""The analyzer's second pass: one crafted message per new signal, formats and calibration.

PDFs, QR codes, .msg and TNEF files are built here in code (pypdf, Pillow,
segno and ``outlook_files``); nothing is downloaded.
"""

from __future__ import annotations

import io

import pytest
import segno
from PIL import Image
from pypdf import PdfWriter
from pypdf.annotations import Link
from tests.unit.phishing.conftest import build_mail
from tests.unit.phishing.outlook_files import build_msg, build_tnef

from carewall.phishing.analyzer import analyze_bytes, rarity_sentence, to_rfc822
from carewall.phishing.analyzer.calibration import legitimate_share_at
from carewall.phishing.analyzer.textutil import strip_invisible

VENDOR = "Northwind Billing <billing@northwind-billing.com>"


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=6)
    return out.getvalue()


def qr_pdf(text: str) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(qr_png(text))).convert("RGB").save(out, "PDF")
    return out.getvalue()


def link_pdf(url: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_annotation(0, Link(rect=(50, 50, 300, 100), url=url))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(text: str) -> bytes:
    """A one-page PDF printing ``text`` with a standard font."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def ids(raw: bytes) -> frozenset[str]:
    return analyze_bytes(raw).signal_ids()


# -- Links: private networks, destinations -------------------------------------------------


def test_private_network_link_counts_once():
    found = ids(build_mail(text="The printer page is http://192.168.1.20:8080/admin/ now."))
    assert "links.private_ip" in found
    assert not found & {"links.ip_host", "links.invalid_host", "links.nonstandard_port"}


def test_links_that_all_lead_elsewhere():
    html = '<p>Your statement</p><a href="https://statement-view.net/s/1">Open</a>'
    assert "links.unrelated_destination" in ids(build_mail(sender=VENDOR, html=html))


def test_links_to_the_sender_and_its_email_service_are_not_elsewhere():
    html = (
        '<a href="https://www.northwind-billing.com/invoices/1">Invoice</a>'
        '<a href="https://u123.ct.sendgrid.net/ls/click?upn=abc">Pay</a>'
    )
    assert "links.unrelated_destination" not in ids(build_mail(sender=VENDOR, html=html))


def test_receipt_linking_to_its_own_domain_is_clean():
    text = "Payment reminder: invoice 4471 of $1,250.00 is overdue. Pay now to avoid suspension."
    html = f"<p>{text}</p><a href='https://pay.northwind-billing.com/i/4471'>Pay now</a>"
    verdict = analyze_bytes(build_mail(sender=VENDOR, subject="Payment reminder", html=html))
    assert verdict.verdict == "clean", verdict.signals


def test_same_lure_with_a_link_elsewhere_counts():
    text = "Payment reminder: invoice 4471 of $1,250.00 is overdue. Pay now to avoid suspension."
    html = f"<p>{text}</p><a href='https://northwind-pay.top/i/4471'>Pay now</a>"
    found = ids(build_mail(sender=VENDOR, subject="Payment reminder", html=html))
    assert {"content.payment_request", "links.unrelated_destination"} <= found


# -- QR codes and PDFs -----------------------------------------------------------------------


def test_qr_code_in_an_inline_image():
    raw = build_mail(
        sender=VENDOR,
        text="Scan the code to keep your mailbox.",
        attachments=[("code.png", "image/png", qr_png("https://mailbox-keep.example.net/k"))],
    )
    verdict = analyze_bytes(raw)
    assert "attach.qr_link" in verdict.signal_ids()
    assert "mailbox-keep.example.net" in next(
        s.evidence for s in verdict.signals if s.id == "attach.qr_link"
    )


def test_qr_code_inside_a_pdf():
    pdf = qr_pdf("https://docs-review.example.net/r")
    raw = build_mail(sender=VENDOR, attachments=[("review.pdf", "application/pdf", pdf)])
    assert "attach.qr_link" in ids(raw)


def test_qr_code_to_the_senders_own_site_is_fine():
    png = qr_png("https://www.northwind-billing.com/pay/4471")
    raw = build_mail(sender=VENDOR, attachments=[("pay.png", "image/png", png)])
    assert "attach.qr_link" not in ids(raw)


def test_link_inside_a_pdf():
    pdf = link_pdf("https://secure-docs.example.net/login")
    raw = build_mail(sender=VENDOR, attachments=[("statement.pdf", "application/pdf", pdf)])
    found = ids(raw)
    assert "attach.pdf_link" in found
    assert "links.unrelated_destination" in found


def test_lure_inside_a_pdf():
    pdf = text_pdf("Verify your account within 24 hours or it will be suspended")
    raw = build_mail(
        sender=VENDOR, deceive=True, attachments=[("notice.pdf", "application/pdf", pdf)]
    )
    assert "content.lure_in_attachment" in ids(raw)


def test_near_empty_body_with_attachment_and_brand_name():
    raw = build_mail(
        sender="Microsoft 365 <notice@mailer-7731.example.net>",
        text="See attached.",
        attachments=[("Statement.pdf", "application/pdf", text_pdf("Statement"))],
    )
    assert "content.empty_body_attachment" in ids(raw)


def test_near_empty_body_from_the_brand_itself_is_fine():
    raw = build_mail(
        sender="Microsoft <microsoft-noreply@microsoft.com>",
        text="See attached.",
        attachments=[("Invoice.pdf", "application/pdf", text_pdf("Invoice"))],
    )
    assert "content.empty_body_attachment" not in ids(raw)


# -- Invisible characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "display",
    [
        "Pay\u200bPal Se\u200crvice",  # zero-width space and non-joiner
        "PayPal Se\U000e0139r\U000e0139vice",  # variation selectors supplement
        "Pay\U000e0041Pal\U000e0042 Support",  # tag characters
        "Pa\u073fyP\u073fal Support",  # foreign combining marks
    ],
)
def test_invisible_characters_are_scored_and_stripped_before_brand_matching(display):
    found = ids(build_mail(sender=f'"{display}" <help@pp-support.example.net>'))
    assert {"identity.invisible_characters", "identity.brand_impersonation"} <= found


def test_emoji_sequences_are_not_invisible_characters():
    assert strip_invisible("\u2600\ufe0f Sale \U0001f469\u200d\u2695\ufe0f 1\ufe0f\u20e3") == (
        "\u2600\ufe0f Sale \U0001f469\u200d\u2695\ufe0f 1\ufe0f\u20e3",
        0,
    )
    found = ids(build_mail(subject="\u2600\ufe0f Summer hours \U0001f469\u200d\u2695\ufe0f"))
    assert "identity.invisible_characters" not in found


# -- Outlook formats ---------------------------------------------------------------------

MSG_HEADERS = (
    "From: PayPal Security <service@paypa1-secure.com>\r\nTo: front@clinic.example.org\r\n"
    "Subject: Verify your account\r\nMessage-ID: <m1@paypa1-secure.com>\r\n\r\n"
)


def test_outlook_msg_is_converted_and_analyzed():
    data = build_msg(
        headers=MSG_HEADERS,
        subject="Verify your account",
        body="Verify your account now or it will be suspended.",
        html='<p>Verify <a href="http://198.51.100.7/login">https://www.paypal.com</a></p>',
    )
    raw = to_rfc822(data)
    assert raw.startswith(b"from: PayPal Security") or b"PayPal Security" in raw[:400]
    verdict = analyze_bytes(data)
    assert verdict.from_.endswith("<service@paypa1-secure.com>")
    assert {"identity.brand_impersonation", "links.ip_host"} <= verdict.signal_ids()
    assert verdict.verdict == "phishing"


def test_tnef_attachment_is_expanded():
    tnef = build_tnef(
        "Your invoice is attached.", [("invoice.pdf.exe", b"MZ\x90\x00" + b"\x00" * 64)]
    )
    raw = build_mail(
        attachments=[("winmail.dat", "application/ms-tnef", tnef)], text="See attached."
    )
    assert {"attach.executable", "attach.double_extension"} <= ids(raw)


def test_bare_winmail_dat_is_converted():
    tnef = build_tnef("Open the attached file", [("scan.html", b"<form><input type=password>")])
    assert "attach.html" in analyze_bytes(tnef).signal_ids()


def test_unreadable_outlook_bytes_still_give_a_verdict():
    broken = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"_\x00_\x00s\x00u\x00b\x00s\x00t\x00g\x00" * 4
    assert analyze_bytes(broken).verdict in {"clean", "suspicious", "phishing"}
    assert analyze_bytes(b"\x78\x9f\x3e\x22garbage").verdict in {"clean", "suspicious", "phishing"}


# -- Calibration -------------------------------------------------------------------------


def test_calibration_is_monotone_and_explained():
    shares = [legitimate_share_at(s / 4) for s in range(0, 41)]
    assert shares == sorted(shares, reverse=True)
    assert legitimate_share_at(0) == pytest.approx(1.0)
    assert rarity_sentence(0).startswith("Of 100 legitimate emails like yours, about 100")
    assert "fewer than 1" in rarity_sentence(12)
