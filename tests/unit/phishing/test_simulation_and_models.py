"""Simulations are recognised; verdicts serialise and explain themselves."""

from __future__ import annotations

import json

from carewall.phishing import SIMULATION_HEADER, AnalyzerContext, Verdict, analyze_bytes
from carewall.phishing.analyzer.resources import rule_specs


def test_simulation_is_clean_and_explained(make_mail):
    raw = make_mail(
        sender="PayPal <service@pay-help.example>",
        text="Your account will be suspended, verify your account now.",
        headers={SIMULATION_HEADER: "campaign-42"},
    )
    ours = AnalyzerContext(simulation_verifier=lambda value: value == "campaign-42")
    verdict = analyze_bytes(raw, ours)
    assert verdict.simulation
    assert verdict.verdict == "clean"
    assert [s.id for s in verdict.signals] == ["simulation"]
    assert verdict.signals[0].weight == 0
    assert "simulation" in verdict.signals[0].explanation


def test_an_unverified_simulation_header_counts_against_the_message(make_mail):
    raw = make_mail(
        sender="IT desk <it@helpdesk.example>",
        text="Please confirm your password today.",
        headers={SIMULATION_HEADER: "campaign-42"},
    )
    for context in (None, AnalyzerContext(simulation_verifier=lambda value: False)):
        verdict = analyze_bytes(raw, context)
        assert not verdict.simulation
        assert "simulation.forged" in verdict.signal_ids()
        assert verdict.verdict == "phishing"


def test_to_dict_is_json_ready(make_mail):
    verdict = analyze_bytes(make_mail(sender="PayPal <service@pay-help.example>"))
    data = verdict.to_dict()
    json.dumps(data)
    assert data["verdict"] in {"phishing", "suspicious", "clean"}
    assert {"id", "weight", "explanation", "evidence"} <= set(data["signals"][0])
    assert data["score"] == round(sum(s["weight"] for s in data["signals"]), 2)


def test_verdict_follows_thresholds(make_mail):
    raw = make_mail(
        sender="PayPal Security <service@paypa1-secure.example>",
        subject="Urgent: account suspended",
        html="<p>Your account will be suspended. Verify your account.</p>"
        '<a href="http://192.0.2.9/paypal/login">https://www.paypal.com</a>',
    )
    verdict: Verdict = analyze_bytes(raw)
    assert verdict.verdict == "phishing"
    assert verdict.score >= 6


def test_every_weight_has_an_explanation():
    for signal_id, spec in rule_specs().items():
        assert spec.explanation.strip(), signal_id
        assert "." in signal_id or signal_id == "simulation"
