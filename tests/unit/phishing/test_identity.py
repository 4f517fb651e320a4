"""Identity rules: who the message claims to be from."""

from __future__ import annotations

from carewall.phishing.analyzer import analyze_bytes


def ids(raw: bytes) -> frozenset[str]:
    return analyze_bytes(raw).signal_ids()


def test_brand_display_name_on_foreign_domain(make_mail):
    assert "identity.brand_impersonation" in ids(
        make_mail(sender="PayPal <service@pay-help.example>")
    )


def test_brand_display_name_on_its_own_domain_is_fine(make_mail):
    assert "identity.brand_impersonation" not in ids(
        make_mail(sender="PayPal <service@paypal.com>")
    )


def test_brand_on_freemail_is_impersonation(make_mail):
    sender = "Microsoft Account Team <msteam@outlook.com>"
    assert "identity.brand_impersonation" in ids(make_mail(sender=sender))


def test_ambiguous_brand_name_needs_a_service_word(make_mail):
    assert "identity.brand_impersonation" not in ids(
        make_mail(sender="Chase Miller <c@example.org>")
    )
    found = ids(make_mail(sender="Chase Online Banking <alerts@example.org>"))
    assert "identity.brand_impersonation" in found


def test_address_in_display_name(make_mail):
    raw = make_mail(sender='"billing@bank.example.com" <x@other.example.org>')
    assert "identity.display_name_address" in ids(raw)


def test_reply_to_freemail(make_mail):
    raw = make_mail(headers={"Reply-To": "ceo.private@gmail.com"})
    assert "identity.reply_to_freemail" in ids(raw)


def test_reply_to_mismatch_ignored_for_mailing_lists(make_mail):
    raw = make_mail(headers={"Reply-To": "list@lists.example.net", "List-Id": "<list.example.net>"})
    assert not {"identity.reply_to_mismatch", "identity.reply_to_freemail"} & ids(raw)


def test_freemail_claiming_an_organisation(make_mail):
    raw = make_mail(sender="IT Helpdesk <it.helpdesk.2024@gmail.com>")
    assert "identity.freemail_org_claim" in ids(raw)


def test_lookalike_brand_sender(make_mail):
    assert "identity.lookalike_brand" in ids(make_mail(sender="Service <no-reply@paypa1.com>"))


def test_malformed_from_header(make_mail):
    raw = make_mail().replace(
        b"From: Alice Example <alice@example.org>", b"From: Prize Desk, <win@example.org>"
    )
    found = ids(raw)
    assert "identity.from_malformed" in found
    assert "identity.sender_missing" not in found


def test_sender_without_valid_domain(make_mail):
    assert "identity.sender_invalid_domain" in ids(
        make_mail(sender="Tax Office <notice@taxoffice>")
    )


def test_missing_from(make_mail):
    raw = make_mail().replace(b"From: Alice Example <alice@example.org>\n", b"")
    assert "identity.sender_missing" in ids(raw)


def test_display_name_with_cyrillic_lookalikes(make_mail):
    raw = make_mail(sender="\u0410pple Supp\u043ert <help@example.org>")
    assert "identity.display_name_homoglyph" in ids(raw)


def test_brand_spoofed_with_foreign_bounce(make_mail):
    raw = make_mail(
        sender="Costco <noreply@costco.com>", headers={"Return-Path": "<x@bounce.example>"}
    )
    assert "identity.brand_spoof_bounce" in ids(raw)
