"""Who the message claims to be from, against who actually sent it.

Impersonation lives in the gap between the display name people read and
the address software uses: brand or address claims in the display name,
replies routed elsewhere, free-mail accounts posing as organisations and
domains built to look like someone else's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import getaddresses
from functools import cache
from itertools import pairwise

from carewall.phishing.analyzer.domains import COMBO_TECHNIQUE, find_lookalike
from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.resources import (
    Brand,
    ambiguous_brand_names,
    brands,
    host_in,
    service_list,
)
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.urls import has_public_suffix, registered_domain
from carewall.phishing.analyzer.view import MessageView, Party

_ADDRESS_IN_NAME = re.compile(r"[\w.+-]{1,64}@((?:[\w-]{1,63}\.){1,8}[a-z]{2,24})", re.IGNORECASE)
_DOMAIN_IN_NAME = re.compile(r"(?<![\w@.-])((?:[a-z0-9-]{1,63}\.){1,5}[a-z]{2,24})(?![\w.-])", re.I)
_SERVICE_WORDS = re.compile(
    r"\b(?:support|team|service|services|security|account|accounts|billing|department|dept|"
    r"admin|administrator|helpdesk|help\s?desk|notifications?|alerts?|customer|care|center|"
    r"centre|bank|banking|inc|llc|ltd|corp|corporation|office|hr|payroll|finance|accounting|"
    r"no-?reply|mail\s?delivery|postmaster|webmaster|system|server|verification|compliance|"
    r"legal|management|portal|online|official|secure|online\s?banking|mailbox|it)\b",
    re.IGNORECASE,
)
_LIST_HEADERS = ("list-id", "list-post", "mailing-list")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")
_DIGIT_RUN = re.compile(r"\d{7,}")
_VALID_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,10}[a-z]{2,63}$")
_MIXED_SCRIPT = re.compile(
    r"[a-zA-Z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][a-zA-Z]"
)
#: Mathematical alphanumerics, fullwidth and enclosed letters: text styled to dodge filters.
_FANCY = re.compile(r"[\U0001d400-\U0001d7ff\uff21-\uff5a\u24b6-\u24e9\U0001f130-\U0001f189]")


@cache
def _brand_patterns() -> tuple[tuple[Brand, str, re.Pattern[str]], ...]:
    out = []
    for brand in brands():
        for name in brand.names:
            # "Trust Wallet" also matches "Trustwallet", "Trust-Wallet" and "Trust_Wallet".
            words = [re.escape(w) for w in name.split()]
            body = r"[\s._-]?".join(words)
            pattern = re.compile(r"(?<![\w])" + body + r"(?![\w])", re.IGNORECASE)
            out.append((brand, name, pattern))
    return tuple(out)


_WORDS = re.compile(r"[^\W_]+")


@cache
def _brand_words() -> frozenset[str]:
    """The first word of every brand name, and multi-word names written as one word.

    A display name none of whose words is here claims no brand: one set lookup per
    word spares most names the loop over every brand's pattern.
    """
    words: set[str] = set()
    for _, name, _ in _brand_patterns():
        tokens = _WORDS.findall(name.lower())
        if tokens:
            words.add(tokens[0])
            words.add("".join(tokens))
    return frozenset(words)


def _may_claim_a_brand(display: str) -> bool:
    return not _brand_words().isdisjoint(_WORDS.findall(display.lower()))


@cache
def brand_of_domain() -> dict[str, Brand]:
    """Each brand domain -> its brand (the first brand listing it)."""
    out: dict[str, Brand] = {}
    for brand in brands():
        for domain in brand.domains:
            out.setdefault(domain, brand)
    return out


@cache
def _brand_domains() -> frozenset[str]:
    return frozenset(brand_of_domain())


def brand_owning(host: str) -> Brand | None:
    """The brand whose domains include ``host`` or a parent of it."""
    entry = host_in(host, _brand_domains()) if host else None
    return brand_of_domain()[entry] if entry else None


def claimed_brand(display: str) -> tuple[Brand, str] | None:
    """The brand a display name claims, if any (ambiguous names need a service word)."""
    if not display or not _may_claim_a_brand(display):
        return None
    ambiguous = ambiguous_brand_names()
    for brand, name, pattern in _brand_patterns():
        if pattern.search(display):
            if name.lower() in ambiguous and not _names_only_the_brand(display, name):
                continue
            return brand, name
    return None


_FROM_BRAND = re.compile(r"^[\w .'-]{1,40}\s(?:from|at|von|de|van|da|do)\s", re.IGNORECASE)


def _names_only_the_brand(display: str, name: str) -> bool:
    """An ambiguous brand name (an ordinary word too) counts as a claim only when the display
    name is that brand and nothing else ("Ledger"), the brand with a service word ("Ledger
    Support") or a person speaking for it ("Katie from Ledger")."""
    if _SERVICE_WORDS.search(display):
        return True
    bare = " ".join(re.sub(r"[^\w&+.' -]", " ", display).split()).strip(" .'-")
    if bare.lower() == name.lower():
        return True
    rest = _FROM_BRAND.sub("", bare)
    return rest != bare and rest.strip(" .'-").lower() == name.lower()


def is_freemail(domain: str) -> bool:
    """Whether a domain is a free consumer mailbox provider (the exact mailbox domain)."""
    return domain in service_list("freemail")


def _from_is_malformed(raw_from: str) -> bool:
    """Several addresses, unbalanced quotes or brackets: a From no mail client writes."""
    if raw_from.count('"') % 2 or raw_from.count("<") != raw_from.count(">"):
        return True
    try:
        addresses = [a for _, a in getaddresses([raw_from]) if a]
    except Exception:
        return True
    return len(addresses) > 1 or raw_from.count("<") > 1


def looks_random(token: str) -> bool:
    """Machine-made names: consonant runs, long digit runs, shuffled case or digits."""
    letters = re.sub(r"[^A-Za-z0-9]", "", token)
    if len(letters) < 6:
        return False
    if _CONSONANT_RUN.search(letters.lower()) or _DIGIT_RUN.search(letters):
        return True
    upper = sum(c.isupper() for c in letters) / len(letters)
    if 0.3 <= upper <= 0.7 and "." not in token and "_" not in token:
        return True
    switches = sum(1 for a, b in pairwise(letters) if a.isdigit() != b.isdigit())
    return switches >= 4


_M365_TENANT = ".onmicrosoft.com"
#: Display names that read like a transaction ("Your Order #865999", "Invoice 4471").
_TRANSACTION_NAME = re.compile(
    r"\b(?:order|invoice|receipt|payment|refund|delivery|shipment|package|parcel|statement|"
    r"pedido|fatura|factura|rechnung|bestellung|paket|bestelling|factuur|commande|facture|colis)\b"
    r"|#\s?\d{3,}",
    re.IGNORECASE,
)
_CAMEL_CASE = re.compile(r"^[A-Za-z]?[a-z]+(?:[A-Z][a-z]{2,})*$")


def shuffled_case(local: str) -> bool:
    """A local part of letters only whose capitals fall at random ("XOAqZoq", "nyuAVAEky").

    People and organisations pick readable addresses: all lower case, all
    capitals, or words in CamelCase ("JohnSmith"); generators of throw-away
    sending accounts shuffle the case.
    """
    if not local.isascii() or not local.isalpha() or not 6 <= len(local) <= 16:
        return False
    if local.islower() or local.isupper() or _CAMEL_CASE.match(local):
        return False
    return sum(c.isupper() for c in local[1:]) >= 2


def _random_sender(written: str) -> bool:
    local, _, domain = written.rpartition("@")
    return looks_random(local) or any(looks_random(label.lower()) for label in domain.split("."))


def _domain_is_valid(domain: str) -> bool:
    return bool(_VALID_DOMAIN.match(domain)) and has_public_suffix(domain)


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Identity rules over From, Reply-To and Return-Path."""
    sender = view.sender
    if not sender.address or "@" not in sender.address:
        yield Hit("identity.sender_missing", view.parsed.get("from")[:200] or "(no From header)")
        brand = claimed_brand(sender.display)
        if brand is not None:  # a brand's name over no address at all
            yield Hit(
                "identity.brand_impersonation", f'claims {brand[1]}: "{sender.display[:120]}"'
            )
        return
    raw_from = view.parsed.get_raw("from")
    if _from_is_malformed(raw_from):
        yield Hit("identity.from_malformed", " ".join(raw_from.split())[:200])
    if not _domain_is_valid(sender.domain):
        yield Hit("identity.sender_invalid_domain", sender.address)
    if sender.domain.endswith(_M365_TENANT):
        yield Hit("identity.sender_tenant_address", sender.address)
    if host_in(sender.domain, service_list("free_hosting")):
        yield Hit("identity.sender_free_hosting", sender.address)
    yield from _display_name(sender)
    yield from _routing(view, sender)
    lookalike = find_lookalike(sender.domain, context.org_domains)
    if lookalike is not None:
        kind = "org" if lookalike.imitates in context.org_domains else "brand"
        if kind == "brand" and lookalike.technique == COMBO_TECHNIQUE:
            kind = "brand_combo"
        yield Hit(
            f"identity.lookalike_{kind}".replace("lookalike_brand_combo", "brand_combo_domain"),
            f"{sender.address} imitates {lookalike.imitates} ({lookalike.technique})",
        )
    subject_brand = claimed_brand(view.subject)
    if subject_brand is not None and host_in(sender.domain, subject_brand[0].domains) is None:
        yield Hit(
            "identity.brand_in_subject", f"{subject_brand[1]} in subject, from {sender.address}"
        )
    if _random_sender(sender.written):
        yield Hit("identity.random_sender", sender.written)
    if shuffled_case(sender.written.rpartition("@")[0]):
        yield Hit("identity.shuffled_case_sender", sender.written)
    tld = sender.registered.rpartition(".")[2]
    if tld in service_list("abused_tlds"):
        yield Hit("identity.abused_tld", sender.address)


def _display_name(sender: Party) -> Iterator[Hit]:
    display = sender.display
    if not display:
        return
    evidence = f'"{display[:120]}" <{sender.address}>'
    shown = _ADDRESS_IN_NAME.search(display)
    if shown and registered_domain(shown.group(1)) != sender.registered:
        yield Hit("identity.display_name_address", evidence)
    else:
        shown = _DOMAIN_IN_NAME.search(display)
        claimed = shown.group(1) if shown else ""
        if (
            claimed
            and has_public_suffix(claimed)
            and registered_domain(claimed) != sender.registered
        ):
            yield Hit("identity.display_name_domain", evidence)
    if _MIXED_SCRIPT.search(display) or _FANCY.search(display):
        yield Hit("identity.display_name_homoglyph", evidence)
    brand = claimed_brand(display)
    freemail = is_freemail(sender.domain)
    if brand is not None:
        owned = host_in(sender.domain, brand[0].domains) is not None
        if not owned or freemail:
            yield Hit("identity.brand_impersonation", f"claims {brand[1]}: {evidence}")
    elif freemail and (_SERVICE_WORDS.search(display) or _TRANSACTION_NAME.search(display)):
        yield Hit("identity.freemail_org_claim", evidence)


def _routing(view: MessageView, sender: Party) -> Iterator[Hit]:
    if any(view.parsed.has(h) for h in _LIST_HEADERS):
        return
    reply = view.reply_to
    both_freemail = is_freemail(sender.domain) and is_freemail(reply.domain)
    if both_freemail and reply.address != sender.address:
        yield Hit("identity.reply_to_freemail", f"From {sender.address}, Reply-To {reply.address}")
    elif reply.registered and reply.registered != sender.registered:
        if is_freemail(reply.domain):
            yield Hit(
                "identity.reply_to_freemail", f"From {sender.address}, Reply-To {reply.address}"
            )
        else:
            yield Hit(
                "identity.reply_to_mismatch", f"From {sender.address}, Reply-To {reply.address}"
            )
    bounce = view.return_path
    brand = brand_owning(sender.domain)
    if brand is not None and bounce.registered and not host_in(bounce.domain, brand.domains):
        yield Hit(
            "identity.brand_spoof_bounce", f"From {sender.address}, Return-Path {bounce.address}"
        )
    elif bounce.registered and bounce.registered not in {sender.registered, reply.registered}:
        yield Hit(
            "identity.return_path_mismatch", f"From {sender.address}, Return-Path {bounce.address}"
        )
