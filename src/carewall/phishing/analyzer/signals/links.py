"""Where the links go, against where they say they go.

Modelled on the URI rule families of SpamAssassin and Rspamd: deceptive
link text, hosts that hide their owner (IP literals, shorteners, punycode,
free hosting), credential-harvest paths, redirectors, script and data URLs,
and forms inside the message itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from carewall.phishing.analyzer.domains import COMBO_TECHNIQUE, find_lookalike
from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.resources import brands, generic_brand_labels, host_in, service_list
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.urls import (
    ParsedUrl,
    domain_in_text,
    domain_label,
    is_ip_host,
    is_private_ip,
    registered_domain,
)
from carewall.phishing.analyzer.view import LinkRef, MessageView

_CREDENTIAL_PATH = re.compile(
    r"(?:^|[/._=&?-])(?:log-?in|sign-?in|log-?on|verify|verification|validate|validation|"
    r"password|passwd|sso|o365|office365|owa|webmail|wp-login|authenticate|auth|unlock|"
    r"recover|reactivate|account-?update|update-?account|secure-?login|credential|"
    r"microsoftonline|mailbox|adfs)(?:$|[/._=&?#-])"
)
_REDIRECT = re.compile(
    r"(?:^|[?&;])[a-z_.-]{0,24}=(?:https?:|https?%3a|//|www\.)|/(?:url|redirect|redir|out|away)"
    r"\?(?:q|u|url|to)=|^/amp/s/|^/ck/a"
)
_VALID_HOST = re.compile(r"^[a-z0-9.-]{1,253}$")
_IP_IN_HOST = re.compile(r"(?:^|[.-])\d{1,3}[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3}(?:[.-]|$)")
_STANDARD_PORTS = frozenset({None, 80, 443})


@cache
def _brand_tokens() -> dict[str, frozenset[str]]:
    """Distinctive brand labels -> the brand's own domains (for brand-in-URL)."""
    generic = generic_brand_labels()
    out: dict[str, frozenset[str]] = {}
    for brand in brands():
        for domain in brand.domains:
            label = domain_label(domain)
            if len(label) >= 5 and label not in generic:
                out[label] = out.get(label, frozenset()) | brand.domains
    return out


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Link rules, each id at most once per link (the scorer keeps one per id)."""
    sender = view.sender.registered
    seen: set[tuple[str, str, str]] = set()
    for ref in view.links:
        url = ref.url
        key = (ref.raw, ref.text, ref.tag)
        if url is None or key in seen:
            continue
        seen.add(key)
        if url.scheme in {"javascript", "vbscript"}:
            yield Hit("links.javascript_url", ref.raw[:200])
            continue
        if url.scheme == "data":
            yield Hit("links.data_url", ref.raw[:120])
            continue
        if url.scheme not in {"http", "https"} or not url.host:
            continue
        yield from _check_url(ref, url, sender, context)
    yield from _forms(view)


def _check_url(
    ref: LinkRef, url: ParsedUrl, sender: str, context: AnalyzerContext
) -> Iterator[Hit]:
    evidence = url.url[:300]
    if ref.tag == "a":
        yield from _text_mismatch(ref, url)
    if is_private_ip(url.host):
        # Unreachable from outside: an intranet address quoted in list mail, not a lure.
        yield Hit("links.private_ip", evidence)
        return
    if is_ip_host(url.host):
        yield Hit("links.ip_host", evidence)
    if url.has_userinfo:
        yield Hit("links.userinfo", evidence)
    if url.port not in _STANDARD_PORTS:
        yield Hit("links.nonstandard_port", evidence)
    if "xn--" in url.host:
        yield Hit("links.punycode", evidence)
    if not _VALID_HOST.match(url.host):
        yield Hit("links.invalid_host", evidence)
    elif not is_ip_host(url.host) and _IP_IN_HOST.search(url.host):
        yield Hit("links.ip_in_hostname", evidence)
    if url.registered == sender or url.registered in context.org_domains:
        return
    yield from _services(url, evidence)
    if _CREDENTIAL_PATH.search(url.path) or _CREDENTIAL_PATH.search(url.query[:500]):
        yield Hit("links.credential_path", evidence)
    if _REDIRECT.search(url.query[:1000]) or _REDIRECT.search(url.path):
        yield Hit("links.redirect", evidence)
    yield from _imitation(url, evidence, context)


def _imitation(url: ParsedUrl, evidence: str, context: AnalyzerContext) -> Iterator[Hit]:
    lookalike = find_lookalike(url.host, context.org_domains)
    if lookalike is not None:
        brand_combo = lookalike.technique == COMBO_TECHNIQUE and (
            lookalike.imitates not in context.org_domains
        )
        signal_id = "links.brand_combo_domain" if brand_combo else "links.lookalike"
        yield Hit(signal_id, f"{evidence} imitates {lookalike.imitates}")
    elif _brand_in_url(url):
        yield Hit("links.brand_in_url", evidence)


def _services(url: ParsedUrl, evidence: str) -> Iterator[Hit]:
    if host_in(url.host, service_list("shorteners")):
        yield Hit("links.shortener", evidence)
    elif host_in(url.host, service_list("hosted_content")):
        yield Hit("links.hosted_content", evidence)
    elif host_in(url.host, service_list("free_hosting")):
        yield Hit("links.free_hosting", evidence)
    if url.registered.rpartition(".")[2] in service_list("abused_tlds"):
        yield Hit("links.abused_tld", evidence)


def _text_mismatch(ref: LinkRef, url: ParsedUrl) -> Iterator[Hit]:
    shown = domain_in_text(ref.text)
    if shown is None:
        return
    shown_reg = registered_domain(shown)
    if shown_reg and shown_reg != url.registered:
        yield Hit("links.text_href_mismatch", f"text {ref.text[:100]!r} -> {url.url[:200]}")


def _brand_in_url(url: ParsedUrl) -> bool:
    """A brand name in the subdomain or path of a domain that is not the brand's."""
    subdomain = url.host[: -len(url.registered)] if url.host.endswith(url.registered) else ""
    haystack = subdomain + " " + url.path[:300]
    for token, owned in _brand_tokens().items():
        if token in haystack and url.registered not in owned:
            return True
    return False


def _forms(view: MessageView) -> Iterator[Hit]:
    facts = view.html
    if facts.password_inputs:
        yield Hit("links.password_form", f"{facts.password_inputs} password field(s)")
    elif facts.data_forms:
        yield Hit("links.html_form", f"form action={facts.form_actions[0][:200]!r}")
