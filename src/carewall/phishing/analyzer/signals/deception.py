"""Lures count only next to deception.

A receipt says "payment", a password reset says "reset your password", a
dunning letter says "your account may be suspended": content alone does
not tell a clinic's vendors from the people imitating them. What tells
them apart is deception: a link or reply address outside the sender's
organisation, an identity claim the address does not back, a lookalike or
free-mail sender, a form, an attachment that hides something, text hidden
from the reader. The lure signals (``CONTEXTUAL``) are therefore kept only
when at least one deception signal fired, or when the sender is a
personal free-mail account outside any mailing list; otherwise they are
dropped from the verdict, so the score a person reads is the one that was
summed.

This module also decides which link domains belong to the sender's
organisation: its own registered domain, the other domains of the brand it
is, its email service's click-tracking hosts and, for list mail, the
list's domain. Links that all lead elsewhere are a deception signal of
their own (``links.unrelated_destination``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.resources import brands, host_in, service_list
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.urls import (
    host_of_address,
    is_ip_host,
    registered_domain,
)
from carewall.phishing.analyzer.view import LinkRef, MessageView

#: Signals that only mean something next to deception.
CONTEXTUAL = frozenset(
    {
        "content.urgency", "content.threat", "content.credential_request",
        "content.payment_request",
        "content.healthcare_lure", "content.document_lure", "content.reward_lure",
        "content.call_to_action", "content.crypto_lure", "content.advance_fee",
        "content.many_lures",
        "content.money_amount", "content.image_heavy", "content.tracking_pixel",
        "content.discount_offer", "content.offer_without_unsubscribe", "content.subject_exclaim",
        "content.subject_all_caps", "identity.return_path_mismatch", "auth.dkim_unaligned",
        "identity.brand_in_subject", "content.lure_in_attachment",
    }
)  # fmt: skip
#: Signals that are not deception themselves (weak, structural or purely informative).
_NOT_DECEPTION = CONTEXTUAL | {
    "simulation", "parse.malformed", "parse.limits_exceeded", "context.known_sender",
    "content.entity_obfuscation", "content.script", "content.encoded_payload",
    "links.private_ip", "identity.sender_missing", "identity.random_sender",
    "content.image_only", "content.spam_offer",
    "attach.pdf_link", "links.unrelated_shown",
}  # fmt: skip
_LIST_HEADERS = ("list-id", "list-post", "mailing-list")
_LINK_SCHEMES = frozenset({"http", "https"})


def is_list_mail(view: MessageView) -> bool:
    """Mail relayed by a mailing list (its headers, or DMARC From-rewriting)."""
    return any(view.parsed.has(h) for h in _LIST_HEADERS)


@cache
def _brand_of() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for brand in brands():
        owned = frozenset(registered_domain(d) for d in brand.domains)
        for domain in brand.domains:
            out[registered_domain(domain)] = out.get(registered_domain(domain), frozenset()) | owned
    return out


def organisation_domains(view: MessageView) -> frozenset[str]:
    """Registered domains that are the sender's own, for link and reply comparisons."""
    own: set[str] = set()
    if view.sender.registered:
        own.add(view.sender.registered)
        own |= _brand_of().get(view.sender.registered, frozenset())
    if is_list_mail(view):
        for header in ("list-post", "list-id", "list-archive"):
            own.update(_domains_in(view.parsed.get(header)))
    return frozenset(own)


def _domains_in(value: str) -> Iterator[str]:
    for token in re.findall(r"[\w.-]+\.[a-z]{2,24}", value.lower()):
        host = host_of_address(token) if "@" in token else token
        if "." in host:
            yield registered_domain(host)


def link_relations(view: MessageView) -> tuple[int, list[LinkRef]]:
    """(links to the organisation or its email service, links elsewhere)."""
    own = organisation_domains(view)
    services = service_list("email_services")
    neutral = service_list("neutral_links")
    inside, outside = 0, []
    for ref in view.links:
        url = ref.url
        if url is None or url.scheme not in _LINK_SCHEMES or not url.host or is_ip_host(url.host):
            continue
        if url.registered in own or host_in(url.host, services):
            inside += 1
        elif not host_in(url.host, neutral):
            outside.append(ref)
    return inside, outside


def shows_destination(ref: LinkRef) -> bool:
    """Whether the reader sees where the link goes: a bare URL in the text, or an anchor
    whose text names the destination's domain. Buttons, 'click here' and links read out
    of attachments or QR codes hide it."""
    if ref.tag == "text":
        return True
    url = ref.url
    if ref.tag != "a" or url is None or not url.registered:
        return False
    return url.registered in ref.text.lower()


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Links that all lead away from the sender's organisation.

    When every such link shows its address in full (a plain-text mail citing a
    web page), nothing is concealed: the hit is informative, not deception.
    """
    if not view.sender.registered:
        return
    inside, outside = link_relations(view)
    own_org = set(context.org_domains)
    outside = [r for r in outside if r.url is not None and r.url.registered not in own_org]
    if outside and not inside:
        # The evidence is the URL, not the bare host: pages defang URLs when they show them.
        urls = sorted({r.url.url for r in outside if r.url is not None})
        shown = " , ".join(u[:100] for u in urls[:2])
        kind = (
            "unrelated_shown"
            if all(shows_destination(r) for r in outside)
            else "unrelated_destination"
        )
        yield Hit(f"links.{kind}", f"links to {shown}; sender {view.sender.registered}")
        brand_sender = view.sender.registered in _brand_of() and not _personal_freemail(view)
        if kind == "unrelated_destination" and brand_sender:
            # A brand's own mail links to the brand or its email service; only someone
            # borrowing its address sends every reader somewhere else.
            yield Hit("identity.brand_spoof_links", f"From {view.sender.address}; links to {shown}")


def deceptive(hits: Iterable[Hit]) -> bool:
    """Whether any signal that hides or misrepresents something fired."""
    return any(h.id not in _NOT_DECEPTION for h in hits)


def gate(hits: list[Hit], view: MessageView) -> list[Hit]:
    """Drop the contextual signals when nothing in the message deceives."""
    if deceptive(hits) or _personal_freemail(view):
        return hits
    return [h for h in hits if h.id not in CONTEXTUAL]


def _personal_freemail(view: MessageView) -> bool:
    if is_list_mail(view):
        return False
    return view.sender.domain in service_list("freemail")
