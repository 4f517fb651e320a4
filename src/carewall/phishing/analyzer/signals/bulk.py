"""Marks of mass-mailed scams rather than of any one lure.

Bulk phishing and scam spam are sent to lists bought or scraped, not to
people who asked for them, and it shows in the structure whatever the
language: recipients hidden behind "undisclosed recipients", open-tracking
beacons with no way to unsubscribe, links to throw-away machine-named
hosts, discount percentages and shouting subjects. These are the kinds of
tests SpamAssassin (``UNDISC_RECIPS``, ``SUBJ_*``) and Rspamd (URL and
bulk heuristics) run; each is weak alone and weighted accordingly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.signals.identity import looks_random
from carewall.phishing.analyzer.urls import ParsedUrl
from carewall.phishing.analyzer.view import MessageView

_UNDISCLOSED = re.compile(r"undisclosed|recipients?\s{0,3}:\s{0,3};|^\s{0,3}:\s{0,3};", re.I)
#: Words for "unsubscribe" / "opt out" in the languages the lexicon covers.
_UNSUBSCRIBE = re.compile(
    r"unsubscribe|opt[\s-]?out|abmelden|abbestellen|descadastr|cancelar\s(?:a\s)?inscri|"
    r"darse\sde\sbaja|dar\sde\sbaja|désinscri|desinscri|désabonn|afmelden|uitschrijven|"
    r"disiscriv|cancellami|remove\syourself|no\slonger\swish",
    re.IGNORECASE,
)
_DISCOUNT = re.compile(
    r"\d{1,2}\s?%\s?(?:off|discount|rabatt|desconto|descuento|dto|korting|de\sréduction|"
    r"de\sremise|sconto)\b|(?:up\sto|save|bis\szu|até|hasta|jusqu'à|fino\sal|tot)\s-?\d{1,2}\s?%",
    re.IGNORECASE,
)
#: Lure families that make a message a commercial offer (which must carry an opt-out).
_OFFER_SIGNALS = frozenset({"reward", "spam_offer", "crypto"})
_SHOUTY_SUBJECT = re.compile(r"[!?]{2,}|[$€£]{2,}|!\s{0,3}$")
_MIN_RANDOM_LABEL = 8
_LONG_LABEL = 20


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Recipient hiding, beacons without opt-out, machine hosts, offers and shouting."""
    if _UNDISCLOSED.search(view.parsed.get("to")):
        yield Hit("identity.undisclosed_recipients", f"To: {view.parsed.get('to')[:120]}")
    unsubscribe = _offers_unsubscribe(view)
    if view.html.tracking_pixels and not unsubscribe:
        yield Hit(
            "content.tracking_pixel",
            f"{view.html.tracking_pixels} tracking image(s), no unsubscribe option",
        )
    discount = _DISCOUNT.search(view.scan_text)
    if discount:
        yield Hit("content.discount_offer", discount.group(0))
    offer = discount.group(0) if discount else _offer_phrase(view)
    if offer and not unsubscribe:
        yield Hit("content.offer_without_unsubscribe", f"offer {offer!r}, no unsubscribe option")
    if _SHOUTY_SUBJECT.search(view.subject):
        yield Hit("content.subject_exclaim", view.subject[:120])
    for ref in view.links:
        if (
            ref.url is not None
            and ref.url.scheme in {"http", "https"}
            and _random_subdomain(ref.url)
        ):
            yield Hit("links.random_subdomain", ref.url.url[:300])
            break


def _offer_phrase(view: MessageView) -> str:
    """The first prize, spam-offer or investment phrase of the text, or ''."""
    found = view.phrases
    return next((found[f][0] for f in sorted(_OFFER_SIGNALS) if f in found), "")


def _offers_unsubscribe(view: MessageView) -> bool:
    """A List-Unsubscribe header, or an unsubscribe word in the text or a link."""
    if view.parsed.has("list-unsubscribe") or view.parsed.has("list-id"):
        return True
    if _UNSUBSCRIBE.search(view.body_text[-20_000:]):
        return True
    return any(_UNSUBSCRIBE.search(ref.text) or "unsub" in ref.raw.lower() for ref in view.links)


def _random_subdomain(url: ParsedUrl) -> bool:
    """A subdomain label that is very long or machine-generated (per-campaign hosts)."""
    if not url.host.endswith("." + url.registered):
        return False
    subdomain = url.host[: -len(url.registered) - 1]
    for label in subdomain.split("."):
        if len(label) >= _LONG_LABEL:
            return True
        if len(label) >= _MIN_RANDOM_LABEL and looks_random(label):
            return True
    return False
