"""Parsing never raises: broken, hostile and huge input still gets a verdict."""

from __future__ import annotations

import base64

from carewall.phishing.analyzer import analyze_bytes
from carewall.phishing.analyzer.limits import MAX_DEPTH, MAX_PARTS
from carewall.phishing.analyzer.parse import parse_message, split_address


def test_plain_business_mail_is_clean(make_mail):
    verdict = analyze_bytes(make_mail())
    assert verdict.verdict == "clean"
    assert verdict.score < 3
    assert not verdict.malformed


def test_garbage_bytes_are_malformed_not_an_exception():
    verdict = analyze_bytes(b"\x00\xff\xfe garbage without headers \x00" * 10)
    assert verdict.malformed
    assert "parse.malformed" in verdict.signal_ids()


def test_empty_input():
    verdict = analyze_bytes(b"")
    assert verdict.verdict in {"clean", "suspicious", "phishing"}
    assert verdict.malformed


def test_broken_multipart_boundary_is_flagged():
    raw = (
        b"From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zzz"\r\n\r\n'
        b"no boundary ever appears here\r\n"
    )
    verdict = analyze_bytes(raw)
    assert "parse.malformed" in verdict.signal_ids()


def test_transfer_encodings_and_charsets_are_decoded():
    body = "Veuillez vérifier votre compte immédiatement".encode("iso-8859-1")
    raw = (
        b"From: a@example.org\r\nSubject: =?utf-8?B?"
        + base64.b64encode("Réunion".encode())
        + b"?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(body) + b"\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Réunion"
    assert "vérifier" in parsed.plain_parts[0]


def test_unknown_and_non_text_charsets_fall_back():
    for charset in (b"x-no-such-charset", b"base64", b"zlib"):
        raw = (
            b"From: a@example.org\r\nSubject: hi\r\nContent-Type: text/plain; charset="
            + charset
            + b"\r\n\r\nhello \xe9\r\n"
        )
        assert "hello" in parse_message(raw).plain_parts[0]


def test_raw_eight_bit_header_is_decoded():
    raw = "From: Zoë <z@example.org>\r\nSubject: Grüße\r\n\r\nhi\r\n".encode()
    parsed = parse_message(raw)
    assert parsed.subject == "Grüße"


def test_nested_message_attachment_is_walked(make_mail):
    inner = make_mail(attachments=[("run.exe", "application/octet-stream", b"MZ\x90\x00")])
    raw = (
        b"From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n"
    )
    assert "attach.executable" in analyze_bytes(raw).signal_ids()


def test_deep_nesting_hits_the_depth_limit():
    depth = MAX_DEPTH + 5
    head = b"From: a@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: text/plain\r\n\r\ncore\r\n"
    for level in reversed(range(depth)):
        boundary = b"b%d" % level
        body = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--' + boundary
            + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    verdict = analyze_bytes(head + body)
    assert "parse.limits_exceeded" in verdict.signal_ids()


def test_too_many_parts_hits_the_part_limit():
    parts = b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(MAX_PARTS + 10)
    )
    raw = (
        b"From: a@example.org\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    )
    assert "parse.limits_exceeded" in analyze_bytes(raw).signal_ids()


def test_huge_message_is_truncated(monkeypatch):
    monkeypatch.setattr("carewall.phishing.analyzer.parse.MAX_RAW_BYTES", 10_000)
    raw = b"From: a@example.org\r\nSubject: big\r\n\r\n" + b"a" * 50_000
    verdict = analyze_bytes(raw)
    assert "parse.limits_exceeded" in verdict.signal_ids()


def test_lenient_address_parsing_keeps_the_address():
    display, address = split_address("Support Team ,_<help@example.net>")
    assert address == "help@example.net"
    assert display == "Support Team"


def test_hostile_markup_is_scanned_in_one_pass(make_mail):
    # Inputs on which html.parser rescans the rest of the document for every "<".
    for hostile in ("<a<a" * 50_000 + ">", "</" * 100_000, "<?" * 100_000, "<a " + 'x="' * 50_000):
        verdict = analyze_bytes(make_mail(html=hostile))
        assert verdict.verdict in {"phishing", "suspicious", "clean"}


def test_html_tokens_keep_links_text_and_hidden_parts():
    from carewall.phishing.analyzer.htmlscan import scan_html

    facts = scan_html(
        '<p>Hi &amp; <b>bye</b></p><a href="http://x.example/?a=1&amp;b=2">Pay &#80;al</a>'
        '<script>var a="<b>";</script><!-- note --><div style="display:none">secret</div>'
    )
    assert [(link.href, link.text) for link in facts.links] == [
        ("http://x.example/?a=1&b=2", "Pay Pal")
    ]
    assert "secret" not in facts.text
    assert facts.hidden_text == ["secret"]
    assert facts.scripts == 1
