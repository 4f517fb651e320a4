"""The analyzer's recall pass (issue 17, second round): one crafted message per new rule.

Each test builds its message in code; nothing is read from the evaluation corpora.
"""

from __future__ import annotations

from tests.unit.phishing.conftest import build_mail

from carewall.phishing.analyzer import analyze_bytes

VENDOR = "Northwind Billing <billing@northwind-billing.com>"


def ids(raw: bytes) -> frozenset[str]:
    return analyze_bytes(raw).signal_ids()


# -- Links that show where they go -----------------------------------------------------------


def test_plain_text_links_elsewhere_are_shown_not_concealed():
    text = (
        "Congratulations on the prize! The will and testament story is at "
        "http://www.newspaper.example/story/42 if you want to read it."
    )
    found = ids(build_mail(text=text))
    assert "links.unrelated_shown" in found
    assert "links.unrelated_destination" not in found
    assert "content.reward_lure" not in found  # nothing deceives: the lure is dropped


def test_anchor_that_names_its_domain_is_shown():
    html = '<p>Read it at <a href="https://news.example.net/a/1">news.example.net</a></p>'
    found = ids(build_mail(sender=VENDOR, text=None, html=html))
    assert "links.unrelated_shown" in found


def test_button_to_another_domain_is_concealed():
    html = '<p>Your statement</p><a href="https://statement-view.net/s/1">Open statement</a>'
    found = ids(build_mail(sender=VENDOR, text=None, html=html))
    assert "links.unrelated_destination" in found
    assert "links.unrelated_shown" not in found


# -- Brand names that are ordinary words too -------------------------------------------------


def test_ambiguous_brand_alone_in_the_display_name_is_a_claim():
    raw = build_mail(sender="Ledger <news@tradestars.example>", subject="Firmware update")
    assert "identity.brand_impersonation" in ids(raw)


def test_person_speaking_for_an_ambiguous_brand_is_a_claim():
    raw = build_mail(sender="Katie from Ledger <katie@compassion.example>")
    assert "identity.brand_impersonation" in ids(raw)


def test_ambiguous_brand_inside_a_persons_name_is_not_a_claim():
    raw = build_mail(sender="Otto Meyer <otto.meyer@praxis-meyer.example>")
    assert "identity.brand_impersonation" not in ids(raw)
    raw = build_mail(sender="Mia Ledger <mia@ledger-family.example>")
    assert "identity.brand_impersonation" not in ids(raw)


# -- Throw-away senders ------------------------------------------------------------------------


def test_sender_with_shuffled_case_is_machine_made():
    assert "identity.shuffled_case_sender" in ids(
        build_mail(sender="Offers <XOAqZoq@deck.example>")
    )


def test_readable_sender_addresses_are_not_shuffled():
    for sender in (
        "John <JohnSmith@example.org>",
        "Billing <billing@example.org>",
        "Desk <HELPDESK@example.org>",
        "Ann <ann.lee@example.org>",
    ):
        assert "identity.shuffled_case_sender" not in ids(build_mail(sender=sender)), sender


def _signed(tenant: str, sender: str) -> bytes:
    signature = f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={tenant}; s=selector1; h=From; bh=x; b=y"
    # deceive: a foreign Reply-To, so that the contextual auth.dkim_unaligned is kept
    return build_mail(sender=sender, headers={"DKIM-Signature": signature}, deceive=True)


def test_signature_of_an_unrelated_microsoft_365_tenant():
    found = ids(_signed("Ste20995472.onmicrosoft.com", "Offers <offers@socialdeck.example>"))
    assert "auth.dkim_foreign_tenant" in found


def test_signature_of_the_senders_own_microsoft_365_tenant_is_not_foreign():
    found = ids(_signed("northwindclinic.onmicrosoft.com", "Desk <desk@northwind-clinic.com>"))
    assert "auth.dkim_unaligned" in found
    assert "auth.dkim_foreign_tenant" not in found


# -- Identity claims ---------------------------------------------------------------------------


def test_brand_written_without_its_space_is_still_the_brand():
    for sender in (
        "Trustwallet <support@rehuesa.example>",
        "Albert-Heijn Cadeaucentrum <news@glass.example>",
    ):
        assert "identity.brand_impersonation" in ids(build_mail(sender=sender)), sender


def test_brand_name_over_an_empty_address():
    raw = build_mail(sender='"Facebook" <>', subject="Someone tried to log in")
    found = ids(raw)
    assert {"identity.sender_missing", "identity.brand_impersonation"} <= found


def test_bare_microsoft_365_tenant_address():
    raw = build_mail(sender="Paket <client-n63281@thpthiephoa1.onmicrosoft.com>")
    assert "identity.sender_tenant_address" in ids(raw)


def test_free_mail_account_named_like_a_transaction():
    found = ids(build_mail(sender='"Your Order #865999" <gersidemiriey@gmail.com>'))
    assert "identity.freemail_org_claim" in found
    found = ids(build_mail(sender='"Maria Lopes" <maria.lopes@gmail.com>'))
    assert "identity.freemail_org_claim" not in found


def test_newer_shorteners_are_known():
    html = '<p>Deals</p><a href="https://2u.pw/8SVIA1O">See</a>'
    assert "links.shortener" in ids(build_mail(text=None, html=html))


def test_brand_address_whose_links_all_lead_elsewhere():
    html = '<p>Your parcel is waiting</p><a href="https://topmarketing.example/p/1">Track</a>'
    found = ids(build_mail(sender="DHL <noreply@dhl.de>", text=None, html=html))
    assert "identity.brand_spoof_links" in found


def test_brand_address_linking_to_itself_is_not_spoofed():
    html = '<p>Your parcel is waiting</p><a href="https://www.dhl.de/track?id=1">Track</a>'
    found = ids(build_mail(sender="DHL <noreply@dhl.de>", text=None, html=html))
    assert "identity.brand_spoof_links" not in found


# -- Invisible characters, by density -----------------------------------------------------------


def test_dense_invisible_characters_score_more_than_a_few():
    zw = "\u200b"
    dense = "Micro" + zw + "s" + zw + "o" + zw + "f" + zw + "t" + zw + " Sup" + zw + "port"
    found = ids(build_mail(sender=f'"{dense}" <alerts@mailer.example>', subject="Mailbox notice"))
    assert {"identity.invisible_characters", "identity.invisible_characters_dense"} <= found
    sparse = "Northwind" + zw + " Clinic" + zw + " Billing and Accounts Department"
    found = ids(
        build_mail(sender=f'"{sparse}" <billing@northwind.example>', subject="Invoice 4471")
    )
    assert "identity.invisible_characters" in found
    assert "identity.invisible_characters_dense" not in found
