"""The safe view: links defanged, nothing active kept, evidence marked, settings become context."""

from __future__ import annotations

import pytest

from carewall.core.config import Settings
from carewall.phishing import Signal, Verdict, analyze_bytes
from carewall.phishing.analyzer import DEFAULT_PHISHING_THRESHOLD, DEFAULT_SUSPICIOUS_THRESHOLD
from carewall.phishing.context import context_from
from carewall.phishing.defang import defang, defang_text
from carewall.phishing.message import message_date, sender_address, unwrap_forwarded
from carewall.phishing.preview import build_preview


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://evil.example/login", "hxxps://evil[.]example/login"),
        ("HTTP://a.b.example:8080/x.php?y=1.2", "hxxp://a[.]b[.]example:8080/x.php?y=1.2"),
        ("www.evil.example/a.b", "www[.]evil[.]example/a.b"),
        ("ftp://files.example/x", "fxp://files[.]example/x"),
    ],
)
def test_defang(url: str, expected: str) -> None:
    assert defang(url) == expected


def test_defang_text_keeps_sentence_punctuation() -> None:
    assert defang_text("see https://x.example/a.") == "see hxxps://x[.]example/a."


def _html_mail(body: str) -> bytes:
    return (
        "From: a@sender.example\r\nTo: b@clinic.example\r\nSubject: s\r\n"
        "Content-Type: text/html\r\n\r\n" + body
    ).encode()


def _shown(raw: bytes) -> str:
    preview = build_preview(raw, analyze_bytes(raw))
    return "".join(s.text for s in preview.body)


def test_html_is_reduced_to_text_with_link_targets() -> None:
    shown = _shown(
        _html_mail(
            '<p>Hello <a href="https://bad.example/x">click</a></p><script>evil()</script>'
            '<style>p{}</style><img src="https://t.example/p.gif"><img src="cid:logo">'
            '<form action="https://bad.example/post"><input type="password" name="pw"></form>'
        )
    )
    assert "click [hxxps://bad[.]example/x]" in shown
    assert "evil()" not in shown
    assert "p{}" not in shown
    assert "image not loaded: hxxps://t[.]example/p.gif" in shown
    assert "form sending to: hxxps://bad[.]example/post" in shown


def test_hostile_markup_stays_text_and_is_bounded() -> None:
    raw = _html_mail("<a<a<a" * 50_000 + "<b onmouseover=alert(1)>x</b>")
    preview = build_preview(raw, analyze_bytes(raw))
    assert sum(len(s.text) for s in preview.body) <= 110_000
    assert all(s.kind in {"text", "link", "note"} for s in preview.body)


def test_evidence_is_marked_in_headers_and_links() -> None:
    raw = (
        b"From: Support <help@paypa1-secure.example>\r\nReply-To: x@drop.example\r\n"
        b"Subject: Verify your account\r\nContent-Type: text/plain\r\n\r\n"
        b"Log in at https://paypa1-secure.example/login today.\r\n"
    )
    # A hand-made verdict: the test must not depend on how the analyzer is tuned.
    evidence = "https://paypa1-secure.example/login | help@paypa1-secure.example"
    verdict = Verdict("phishing", 6.0, (Signal("links.x", 6.0, "why", evidence),))
    preview = build_preview(raw, verdict)
    marked = [s.text for s in preview.body if s.marked]
    assert "hxxps://paypa1-secure[.]example/login" in marked
    from_line = next(h for h in preview.headers if h.name == "From")
    assert any(s.marked and "help@paypa1-secure.example" in s.text for s in from_line.segments)


def test_plain_text_urls_are_defanged_and_attachments_listed() -> None:
    raw = (
        b'From: a@b.example\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n'
        b"--z\r\nContent-Type: text/plain\r\n\r\ngo to http://x.example/a, now\r\n"
        b"--z\r\nContent-Type: application/zip\r\n"
        b'Content-Disposition: attachment; filename="inv.zip"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--z--\r\n"
    )
    preview = build_preview(raw, analyze_bytes(raw))
    assert "hxxp://x[.]example/a, now" in "".join(s.text for s in preview.body)
    assert [a.filename for a in preview.attachments] == ["inv.zip"]


def test_message_facts_never_raise() -> None:
    assert sender_address(b"From: =?bogus?= <<<\r\n\r\n") == ""
    assert message_date(b"Date: not a date\r\n\r\n") is None
    assert message_date(b"Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n\r\n") is not None
    assert unwrap_forwarded(b"\xff\xfe garbage") is None


def test_context_from_settings() -> None:
    settings = Settings(
        mail_org_domains=["Clinic.Example"],
        mail_vip_names=["Dr  Jane Roe"],
        mail_known_senders=["lab@partner.example"],
        mail_phishing_threshold=6.0,
        mail_suspicious_threshold=2.5,
    )
    context = context_from(settings)
    assert context.org_domains == frozenset({"clinic.example"})
    assert context.vip_names == frozenset({"dr jane roe"})
    assert context.known_senders == frozenset({"lab@partner.example"})
    assert (context.phishing_threshold, context.suspicious_threshold) == (6.0, 2.5)
    assert context.dns_resolver is None


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="MAIL_SUSPICIOUS_THRESHOLD"):
        Settings(mail_phishing_threshold=3.0, mail_suspicious_threshold=4.0)


def test_setting_defaults_follow_the_analyzer_tuning() -> None:
    """Settings override the analyzer's thresholds, so their defaults must be the tuned ones."""
    defaults = Settings()
    assert defaults.mail_phishing_threshold == DEFAULT_PHISHING_THRESHOLD
    assert defaults.mail_suspicious_threshold == DEFAULT_SUSPICIOUS_THRESHOLD
