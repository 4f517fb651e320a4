"""One crafted message for each signal not covered by the family test modules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.unit.phishing.conftest import build_mail

from carewall.phishing.analyzer import Verdict

Analyze = Callable[..., Verdict]


def ids(verdict: Verdict) -> set[str]:
    return {signal.id for signal in verdict.signals}


def link_mail(url: str) -> bytes:
    return build_mail(html=f'<p>See <a href="{url}">the document</a>.</p>')


@pytest.mark.parametrize(
    ("signal_id", "raw"),
    [
        (
            "auth.spf_softfail",
            build_mail(headers={"Authentication-Results": "mx.example.net; spf=softfail"}),
        ),
        (
            "auth.dkim_fail",
            build_mail(headers={"Authentication-Results": "mx.example.net; dkim=fail"}),
        ),
        (
            "identity.return_path_mismatch",
            build_mail(
                headers={"Return-Path": "<bounce@unrelated-mailer.example.com>"}, deceive=True
            ),
        ),
        ("identity.abused_tld", build_mail(sender="Billing <billing@invoices-now.tk>")),
        ("identity.sender_free_hosting", build_mail(sender="Support <help@portal.web.app>")),
        (
            "identity.display_name_domain",
            build_mail(sender='"hr.harborclinic.org" <notice@example.org>'),
        ),
        (
            "identity.brand_in_subject",
            build_mail(subject="Your Microsoft 365 password expires today", deceive=True),
        ),
        ("identity.random_sender", build_mail(sender="Notice <xk7qzv9wplm2rtq@example.org>")),
        (
            "content.call_to_action",
            build_mail(text="Your report is ready. Click here to view it.", deceive=True),
        ),
        (
            "content.subject_all_caps",
            build_mail(subject="ACTION REQUIRED ON YOUR ACCOUNT", deceive=True),
        ),
        ("links.invalid_host", link_mail("https://bad_host!.example/")),
        ("links.ip_in_hostname", link_mail("https://10-20-30-40.dyn.example.com/file")),
        ("links.brand_combo_domain", link_mail("https://microsoft-login-secure.com/")),
        ("identity.brand_combo_domain", build_mail(sender="Alerts <alerts@paypal-secure.com>")),
    ],
)
def test_signal_fires_on_its_crafted_message(signal_id: str, raw: bytes, analyze: Analyze) -> None:
    verdict = analyze(raw)
    assert signal_id in ids(verdict), sorted(ids(verdict))
    signal = next(s for s in verdict.signals if s.id == signal_id)
    assert signal.explanation
    assert signal.evidence


def test_plain_mail_fires_none_of_them(analyze: Analyze) -> None:
    fired = ids(analyze(build_mail()))
    assert not fired & {
        "auth.spf_softfail",
        "identity.return_path_mismatch",
        "identity.random_sender",
        "content.call_to_action",
        "content.subject_all_caps",
    }
