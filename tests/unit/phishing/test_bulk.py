"""Bulk-mail structure rules, image-heavy mail and the multilingual lure words."""

from __future__ import annotations

import pytest

from carewall.phishing.analyzer import analyze_bytes
from carewall.phishing.analyzer.htmlscan import scan_html

PIXEL = '<img src="https://t.example.com/o.gif" width="1" height="1" alt="">'


def test_undisclosed_recipients(make_mail):
    raw = make_mail().replace(b"To: bob@example.net", b"To: undisclosed-recipients:;")
    verdict = analyze_bytes(raw)
    assert "identity.undisclosed_recipients" in verdict.signal_ids()
    assert "undisclosed-recipients" in next(
        s.evidence for s in verdict.signals if s.id == "identity.undisclosed_recipients"
    )


def test_named_recipient_is_not_undisclosed(make_mail):
    assert "identity.undisclosed_recipients" not in analyze_bytes(make_mail()).signal_ids()


def test_tracking_pixel_without_unsubscribe(make_mail):
    html = f"<p>Our new range is in the shop this week, come and see.</p>{PIXEL}"
    assert (
        "content.tracking_pixel" in analyze_bytes(make_mail(html=html, deceive=True)).signal_ids()
    )


@pytest.mark.parametrize(
    "html",
    [
        f"<p>New range in the shop.</p>{PIXEL}<a href='https://example.org/u'>Unsubscribe</a>",
        f"<p>Neue Kollektion im Laden.</p>{PIXEL}<p>Newsletter abbestellen</p>",
    ],
)
def test_tracking_pixel_with_unsubscribe_is_fine(make_mail, html):
    assert "content.tracking_pixel" not in analyze_bytes(make_mail(html=html)).signal_ids()


def test_pixel_by_inline_style_is_counted():
    facts = scan_html('<img src="https://t.example.com/p" style="width: 1px; height: 1px">')
    assert facts.tracking_pixels == 1
    assert scan_html('<img src="https://example.org/logo.png" width="120">').tracking_pixels == 0


@pytest.mark.parametrize(
    "text", ["Everything 70% off this weekend", "Spare bis zu 50 % auf alles", "Hasta 60% de dto"]
)
def test_discount_offer(make_mail, text):
    verdict = analyze_bytes(make_mail(text=text, deceive=True))
    assert "content.discount_offer" in verdict.signal_ids()
    assert "content.offer_without_unsubscribe" in verdict.signal_ids()


def test_offer_with_unsubscribe_is_not_flagged(make_mail):
    text = "Everything 70% off this weekend.\nTo unsubscribe, reply STOP."
    verdict = analyze_bytes(make_mail(text=text, deceive=True))
    assert "content.discount_offer" in verdict.signal_ids()
    assert "content.offer_without_unsubscribe" not in verdict.signal_ids()


def test_offer_phrase_without_unsubscribe(make_mail):
    verdict = analyze_bytes(
        make_mail(text="Free spins waiting at our online casino tonight.", deceive=True)
    )
    assert "content.offer_without_unsubscribe" in verdict.signal_ids()


def test_plain_percentage_is_not_an_offer(make_mail):
    text = "Occupancy was 85% last month, up from 80% in May."
    assert "content.discount_offer" not in analyze_bytes(make_mail(text=text)).signal_ids()


@pytest.mark.parametrize(
    ("subject", "fires"),
    [("You are chosen!!", True), ("Last day today!", True), ("Budget for Q3?", False)],
)
def test_shouting_subject(make_mail, subject, fires):
    verdict = analyze_bytes(make_mail(subject=subject, deceive=True))
    assert ("content.subject_exclaim" in verdict.signal_ids()) is fires


@pytest.mark.parametrize(
    ("host", "fires"),
    [
        ("xk7qzp9w2vbt.example.com", True),
        ("a" * 24 + ".example.com", True),
        ("www.example.com", False),
        ("newsletter.example.com", False),
    ],
)
def test_random_subdomain(make_mail, host, fires):
    verdict = analyze_bytes(make_mail(text=f"Details: https://{host}/offer"))
    assert ("links.random_subdomain" in verdict.signal_ids()) is fires


def test_image_heavy_message(make_mail):
    words = " ".join(["word"] * 40)
    html = (
        f"<a href='https://example.com/x'><img src='https://example.com/b.png'></a><p>{words}</p>"
    )
    ids = analyze_bytes(make_mail(text=None, html=html)).signal_ids()
    assert "content.image_heavy" in ids
    assert "content.image_only" not in ids


def test_image_with_a_real_letter_is_fine(make_mail):
    words = " ".join(["word"] * 120)
    html = f"<img src='https://example.com/logo.png'><p>{words}</p>"
    ids = analyze_bytes(make_mail(text=None, html=html)).signal_ids()
    assert not ids & {"content.image_heavy", "content.image_only"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seu pacote aguarda: pague a taxa de entrega.", "content.document_lure"),
        ("Ihr Paket wartet: Zollgebühr begleichen.", "content.payment_request"),
        ("U heeft gewonnen! Nu claimen.", "content.reward_lure"),
        ("Vous avez été sélectionné pour un cadeau.", "content.reward_lure"),
        ("Bonus di benvenuto e giri gratis al casino.", "content.spam_offer"),
        ("Bestätigen Sie Ihre Anmeldedaten.", "content.credential_request"),
        ("Su cuenta será suspendida hoy.", "content.threat"),
    ],
)
def test_multilingual_lures(make_mail, text, expected):
    assert expected in analyze_bytes(make_mail(text=text, deceive=True)).signal_ids()


def test_everyday_words_are_not_lures(make_mail):
    text = "The software package is ready; I'll send the delivery address immediately. Winner: Ann."
    ids = analyze_bytes(make_mail(text=text)).signal_ids()
    assert not {s for s in ids if s.startswith("content.")}
