"""Content rules: lures and obfuscation."""

from __future__ import annotations

import pytest

from carewall.phishing.analyzer import analyze_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Action required: respond within 24 hours.", "content.urgency"),
        ("Your account will be suspended.", "content.threat"),
        ("Please verify your account and confirm your identity.", "content.credential_request"),
        ("Buy gift cards and send the codes for the wire transfer.", "content.payment_request"),
        ("Your lab results are available in the patient portal.", "content.healthcare_lure"),
        ("Susan shared a document with you: review and sign.", "content.document_lure"),
        ("Congratulations, you have won a prize!", "content.reward_lure"),
        ("Ihr Konto wurde gesperrt.", "content.threat"),
        ("Atualize seus dados para evitar o bloqueio.", "content.credential_request"),
        ("Claim your airdrop of bitcoin today.", "content.crypto_lure"),
        (
            "I am contacting you about a confidential transaction with my late client.",
            "content.advance_fee",
        ),
        ("You will receive $2,500,000 once processed.", "content.money_amount"),
    ],
)
def test_lure_phrases(make_mail, text, expected):
    assert expected in analyze_bytes(make_mail(text=text, deceive=True)).signal_ids()


@pytest.mark.parametrize(
    "text",
    [
        "Action required: respond within 24 hours.",
        "Your account will be suspended.",
        "Please verify your account and confirm your identity.",
        "Payment reminder: invoice 4471 of $2,500.00 is overdue.",
    ],
)
def test_lures_without_deception_do_not_count(make_mail, text):
    html = f"<p>{text}</p><a href='https://billing.example.org/invoices/4471'>View invoice</a>"
    verdict = analyze_bytes(make_mail(text=text, html=html))
    assert not {s for s in verdict.signal_ids() if s.startswith("content.")}
    assert verdict.verdict == "clean"


def test_many_lures_combine(make_mail):
    text = "Urgent: your account will be suspended. Verify your account. Pay the overdue invoice."
    assert "content.many_lures" in analyze_bytes(make_mail(text=text, deceive=True)).signal_ids()


def test_ordinary_text_has_no_lures(make_mail):
    verdict = analyze_bytes(make_mail(text="Lunch on Friday? The new place on Main Street."))
    assert not {s for s in verdict.signal_ids() if s.startswith("content.")}


def test_hidden_text(make_mail):
    html = "<p>Hello</p><div style='display: none'>" + "filler words " * 30 + "</div>"
    assert "content.hidden_text" in analyze_bytes(make_mail(html=html)).signal_ids()


def test_zero_width_characters_inside_words(make_mail):
    text = "Pa\u200bss\u200bwo\u200brd ex\u200bpi\u200bres to\u200bday"
    assert "content.zero_width" in analyze_bytes(make_mail(text=text)).signal_ids()


def test_letters_as_numeric_entities(make_mail):
    html = "<p>" + "".join(f"&#{ord(c)};" for c in "Verify your mailbox password now " * 2) + "</p>"
    assert "content.entity_obfuscation" in analyze_bytes(make_mail(html=html)).signal_ids()


def test_mixed_scripts_in_words(make_mail):
    text = "Y\u043eur p\u0430yp\u0430l \u0430cc\u043eunt"  # Cyrillic o and a
    assert "content.mixed_script" in analyze_bytes(make_mail(text=text)).signal_ids()


def test_script_and_encoded_payload(make_mail):
    html = "<script>document.write(atob('PGgxPg=='))</script><p>Hi</p>"
    found = analyze_bytes(make_mail(html=html)).signal_ids()
    assert {"content.script", "content.encoded_payload"} <= found


def test_image_only_message(make_mail):
    html = '<img src="https://cdn.example.net/qr.png"><p>Scan me</p>'
    assert "content.image_only" in analyze_bytes(make_mail(text=None, html=html)).signal_ids()


def test_styled_unicode_letters(make_mail):
    text = "\U0001d5e9\U0001d5f2\U0001d5ff\U0001d5f6\U0001d5f3\U0001d606 now"
    assert "content.styled_letters" in analyze_bytes(make_mail(text=text)).signal_ids()
