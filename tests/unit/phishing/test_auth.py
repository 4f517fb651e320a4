"""Sender authentication: lenient Authentication-Results parsing and offline DKIM."""

from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from carewall.phishing.analyzer import AnalyzerContext, analyze_bytes
from carewall.phishing.analyzer.signals.auth import authentication_results

MICROSOFT_STYLE = (
    "spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=example.net; dkim=none (message not signed)"
    " header.d=none;dmarc=fail action=oreject header.from=example.org;compauth=fail reason=000"
)


def test_microsoft_form_is_parsed():
    results = authentication_results(MICROSOFT_STYLE)
    assert results["spf"] == {"fail"}
    assert results["dmarc"] == {"fail"}


def test_failures_become_signals(make_mail):
    raw = make_mail(headers={"Authentication-Results": MICROSOFT_STYLE})
    assert {"auth.spf_fail", "auth.dmarc_fail"} <= analyze_bytes(raw).signal_ids()


def test_only_the_topmost_header_counts(make_mail):
    raw = make_mail(
        headers={"Authentication-Results": "mx.example.net; spf=pass; dkim=pass; dmarc=pass"}
    )
    top = b"Authentication-Results: mx.example.net; spf=pass; dkim=pass; dmarc=pass\n"
    forged_lower = raw.replace(top, top + b"Authentication-Results: evil; spf=fail; dmarc=fail\n")
    assert forged_lower != raw
    assert not {s for s in analyze_bytes(forged_lower).signal_ids() if s.startswith("auth.")}


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def signed(make_mail, private: bytes) -> bytes:
    raw = make_mail(sender="Alice <alice@example.org>").replace(b"\n", b"\r\n")
    signature = dkim.sign(
        raw, b"sel", b"example.org", private, include_headers=[b"from", b"subject"]
    )
    return signature + raw


def test_dkim_verified_with_injected_resolver(make_mail, key_pair):
    private, record = key_pair

    def resolver(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"sel._domainkey.example.org." else None

    context = AnalyzerContext(dns_resolver=resolver)
    good = signed(make_mail, private)
    assert "auth.dkim_invalid" not in analyze_bytes(good, context).signal_ids()
    tampered = good.replace(b"minutes are below", b"minutes are elsewhere")
    assert "auth.dkim_invalid" in analyze_bytes(tampered, context).signal_ids()


def test_dkim_unverifiable_offline_is_not_a_signal(make_mail, key_pair):
    private, _ = key_pair
    tampered = signed(make_mail, private).replace(b"minutes are below", b"changed")
    assert "auth.dkim_invalid" not in analyze_bytes(tampered).signal_ids()

    def no_record(name: bytes, timeout: int = 5) -> None:
        return None

    context = AnalyzerContext(dns_resolver=no_record)
    assert "auth.dkim_invalid" not in analyze_bytes(tampered, context).signal_ids()


def test_dkim_signed_by_another_domain(make_mail, key_pair):
    private, _ = key_pair
    raw = make_mail(sender="Alice <alice@example.com>", deceive=True).replace(b"\n", b"\r\n")
    raw = dkim.sign(raw, b"sel", b"bulk.example.net", private) + raw
    assert "auth.dkim_unaligned" in analyze_bytes(raw).signal_ids()


def test_list_resigning_is_not_unaligned(make_mail, key_pair):
    private, _ = key_pair
    headers = {"List-Id": "Practice managers <pm.lists.example.net>", "Reply-To": "x@other.example"}
    raw = make_mail(sender="Alice <alice@example.com>", headers=headers).replace(b"\n", b"\r\n")
    raw = dkim.sign(raw, b"sel", b"lists.example.net", private) + raw
    assert "auth.dkim_unaligned" not in analyze_bytes(raw).signal_ids()
