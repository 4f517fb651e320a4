"""Link rules, each with a small crafted HTML body."""

from __future__ import annotations

import pytest

from carewall.phishing.analyzer import analyze_bytes


def link_ids(make_mail, html: str) -> frozenset[str]:
    return analyze_bytes(make_mail(html=html)).signal_ids()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<a href="http://evil.example.net/x">https://www.mybank.com</a>',
            "links.text_href_mismatch",
        ),
        ('<a href="http://192.0.2.7/login">Open</a>', "links.ip_host"),
        ('<a href="https://bit.ly/3abc">Open</a>', "links.shortener"),
        ('<a href="https://xn--pypal-4ve.com/">Open</a>', "links.punycode"),
        (
            '<a href="https://secure.example.net/office365/login.php">Sign in</a>',
            "links.credential_path",
        ),
        ('<a href="https://t.example.net/r?url=https://evil.example.org">Go</a>', "links.redirect"),
        ('<a href="data:text/html;base64,PGgxPmhpPC9oMT4=">Open</a>', "links.data_url"),
        ('<a href="javascript:alert(1)">Open</a>', "links.javascript_url"),
        ('<a href="https://docs.google.com/forms/d/abc">Form</a>', "links.hosted_content"),
        ('<a href="https://login-portal.web.app/">Open</a>', "links.free_hosting"),
        ('<a href="http://www.paypal.com@evil.example.net/">PayPal</a>', "links.userinfo"),
        ('<a href="https://micros0ft.com/">Microsoft</a>', "links.lookalike"),
        ('<a href="https://example.top/x">Open</a>', "links.abused_tld"),
        ('<a href="https://example.net:8443/x">Open</a>', "links.nonstandard_port"),
        ('<a href="https://microsoft.account-check.example.net/">Open</a>', "links.brand_in_url"),
    ],
)
def test_link_rule_fires(make_mail, html, expected):
    assert expected in link_ids(make_mail, html)


def test_same_domain_link_text_is_fine(make_mail):
    html = '<a href="https://www.example.org/news">www.example.org</a>'
    assert "links.text_href_mismatch" not in link_ids(make_mail, html)


def test_password_form(make_mail):
    html = '<form action="https://x.example.net/p"><input type="password" name="p"></form>'
    assert "links.password_form" in link_ids(make_mail, html)


def test_search_form_is_not_flagged(make_mail):
    html = '<form action="https://example.org/search" method="get"><input name="q"></form>'
    assert not {"links.html_form", "links.password_form"} & link_ids(make_mail, html)


def test_email_form_is_flagged(make_mail):
    html = '<form action="https://x.example.net/c"><input type="email" name="email"></form>'
    assert "links.html_form" in link_ids(make_mail, html)


def test_plain_text_urls_are_checked(make_mail):
    raw = make_mail(text="Please log in at http://198.51.100.4/portal today")
    assert "links.ip_host" in analyze_bytes(raw).signal_ids()


def test_evidence_names_the_url(make_mail):
    verdict = analyze_bytes(make_mail(html='<a href="http://192.0.2.7/login">Open</a>'))
    signal = next(s for s in verdict.signals if s.id == "links.ip_host")
    assert "192.0.2.7" in signal.evidence
    assert signal.explanation
