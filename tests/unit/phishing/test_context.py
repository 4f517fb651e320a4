"""Organisation-aware rules and the known-sender allow list."""

from __future__ import annotations

import pytest

from carewall.phishing.analyzer import AnalyzerContext, analyze_bytes

CONTEXT = AnalyzerContext(
    org_domains=frozenset({"riverclinic.org"}),
    vip_names=frozenset({"Dana Whitfield"}),
    known_senders=frozenset({"billing@labpartner.example"}),
)


def test_vip_name_from_outside(make_mail):
    raw = make_mail(sender="Dana Whitfield <dana.w.ceo@gmail.com>")
    assert "context.vip_impersonation" in analyze_bytes(raw, CONTEXT).signal_ids()


def test_vip_name_from_inside_is_fine(make_mail):
    raw = make_mail(sender="Dana Whitfield <dana@riverclinic.org>")
    assert "context.vip_impersonation" not in analyze_bytes(raw, CONTEXT).signal_ids()


def test_org_name_claimed_from_outside(make_mail):
    raw = make_mail(sender="RiverClinic IT <it@helpdesk.example.net>")
    assert "context.org_name_claim" in analyze_bytes(raw, CONTEXT).signal_ids()


def test_org_lookalike_domain(make_mail):
    raw = make_mail(sender="IT <it@rivercl1nic.org>")
    assert "identity.lookalike_org" in analyze_bytes(raw, CONTEXT).signal_ids()


def test_internal_sender_with_external_reply_to(make_mail):
    raw = make_mail(
        sender="Payroll <payroll@riverclinic.org>", headers={"Reply-To": "p@example.net"}
    )
    assert "context.internal_reply_external" in analyze_bytes(raw, CONTEXT).signal_ids()


def test_known_sender_lowers_the_score(make_mail):
    raw = make_mail(
        sender="Lab Billing <billing@labpartner.example>", text="Invoice attached, payment due."
    )
    with_list = analyze_bytes(raw, CONTEXT)
    without = analyze_bytes(raw)
    assert "context.known_sender" in with_list.signal_ids()
    assert with_list.score < without.score


def test_known_sender_with_failed_authentication_gets_no_trust(make_mail):
    raw = make_mail(
        sender="billing@labpartner.example",
        headers={"Authentication-Results": "mx.riverclinic.org; dmarc=fail"},
    )
    found = analyze_bytes(raw, CONTEXT).signal_ids()
    assert "context.known_sender" not in found
    assert "auth.dmarc_fail" in found


def test_no_context_no_context_signals(make_mail):
    raw = make_mail(sender="Dana Whitfield <dana.w.ceo@gmail.com>")
    assert not {s for s in analyze_bytes(raw).signal_ids() if s.startswith("context.")}


def test_thresholds_are_validated():
    with pytest.raises(ValueError, match="suspicious_threshold"):
        AnalyzerContext(phishing_threshold=2, suspicious_threshold=5)
