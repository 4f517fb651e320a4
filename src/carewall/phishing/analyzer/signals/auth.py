"""Sender authentication: what the receiving server concluded, and DKIM.

``Authentication-Results`` is read leniently with a regex because real
headers (Microsoft's in particular) break strict RFC 8601 parsers. Only the
topmost header counts: it is the one the organisation's own server added;
lower ones may have been written by the sender.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import dkim

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.signals.deception import is_list_mail
from carewall.phishing.analyzer.urls import registered_domain
from carewall.phishing.analyzer.view import MessageView

_COMMENT = re.compile(r"\([^()]{0,500}\)")
_RESULT = re.compile(r"(?<![\w.-])(spf|dkim|dmarc|compauth)\s{0,5}=\s{0,5}([a-z]{1,16})")
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s{0,20}d\s{0,5}=\s{0,5}([A-Za-z0-9.-]{1,253})")
_DKIM_SELECTOR = re.compile(r"(?:^|;)\s{0,20}s\s{0,5}=\s{0,5}([A-Za-z0-9._-]{1,253})")
_DKIM_LOG = logging.getLogger("carewall.phishing.analyzer.dkim")
_RECEIVED_SPF = re.compile(r"^\s{0,10}(fail|softfail)\b", re.IGNORECASE)


def authentication_results(value: str) -> dict[str, set[str]]:
    """Method -> results found in one Authentication-Results value."""
    text = _COMMENT.sub(" ", value.lower())
    found: dict[str, set[str]] = {}
    for method, result in _RESULT.findall(text):
        found.setdefault(method, set()).add(result)
    return found


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """Authentication failures reported by the receiver, and DKIM checks."""
    headers = view.parsed.get_all("authentication-results")
    if headers:
        yield from _from_results(headers[0])
    received_spf = view.parsed.get("received-spf")
    if received_spf and not headers:
        match = _RECEIVED_SPF.match(received_spf)
        if match:
            yield Hit(f"auth.spf_{match.group(1).lower()}", received_spf[:200])
    yield from _dkim(view, context)


def _from_results(value: str) -> Iterator[Hit]:
    results = authentication_results(value)
    evidence = " ".join(value.split())[:300]
    spf = results.get("spf", set())
    if "fail" in spf or "hardfail" in spf:
        yield Hit("auth.spf_fail", evidence)
    elif "softfail" in spf:
        yield Hit("auth.spf_softfail", evidence)
    dkim_results = results.get("dkim", set())
    if "fail" in dkim_results and "pass" not in dkim_results:
        yield Hit("auth.dkim_fail", evidence)
    if "fail" in results.get("dmarc", set()) or "fail" in results.get("compauth", set()):
        yield Hit("auth.dmarc_fail", evidence)


def _dkim(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    signatures = view.parsed.get_all("dkim-signature")
    if not signatures:
        return
    domains = {m.group(1).lower() for s in signatures if (m := _DKIM_DOMAIN.search(s))}
    sender = view.sender.registered
    relayed = _resigned_by_relay(view, domains)
    if sender and domains and not relayed and all(registered_domain(d) != sender for d in domains):
        yield Hit("auth.dkim_unaligned", f"d={', '.join(sorted(domains))}; From domain {sender}")
        tenant = next((d for d in sorted(domains) if d.endswith(_M365_TENANT)), None)
        if tenant and not sender.endswith(_M365_TENANT) and not _resembles(tenant, sender):
            yield Hit("auth.dkim_foreign_tenant", f"d={tenant}; From domain {sender}")
    if view.raw and _dkim_invalid(view.raw, signatures[0], context):
        yield Hit("auth.dkim_invalid", f"DKIM-Signature d={', '.join(sorted(domains))}")


_M365_TENANT = ".onmicrosoft.com"
_NOT_LETTERS = re.compile(r"[^a-z]")
_WINDOW = 5


def _resembles(tenant: str, sender: str) -> bool:
    """Whether a Microsoft 365 tenant's name echoes the sender's domain.

    An organisation that has not set up DKIM for its own domain signs with
    its tenant, named after itself (northwindclinic.onmicrosoft.com for
    northwind-clinic.com); a tenant named "Ste20995472" or "luck6azure"
    signing for someone else's domain is a rented or throw-away one.
    """
    name = _NOT_LETTERS.sub("", tenant.split(".", 1)[0])
    label = _NOT_LETTERS.sub("", sender.split(".", 1)[0])
    if not name or not label:
        return False
    if len(label) <= _WINDOW or len(name) <= _WINDOW:
        return label in name or name in label
    return any(label[i : i + _WINDOW] in name for i in range(len(label) - _WINDOW + 1))


def _resigned_by_relay(view: MessageView, domains: set[str]) -> bool:
    """Mailing lists and forwarders re-sign what they relay: their signature is not the sender's.

    A list says so in its ``List-Id``/``List-Post``/``Mailing-list`` headers
    (and rewrites ``From`` to itself under DMARC); a relay that adds an ARC
    seal signs with the same domain it seals with.
    """
    if is_list_mail(view):
        return True
    sealers = {
        m.group(1).lower() for s in view.parsed.get_all("arc-seal") if (m := _DKIM_DOMAIN.search(s))
    }
    return bool(sealers) and bool(
        {registered_domain(d) for d in domains} & {registered_domain(d) for d in sealers}
    )


def _dkim_invalid(raw: bytes, signature: str, context: AnalyzerContext) -> bool:
    """True only when a key was found and the signature does not match it.

    A missing key or a DNS error means "unverifiable", which is not
    evidence of anything by itself, so the key is looked up first.
    """
    resolver = context.dns_resolver
    domain, selector = _DKIM_DOMAIN.search(signature), _DKIM_SELECTOR.search(signature)
    if resolver is None or domain is None or selector is None:
        return False
    name = f"{selector.group(1)}._domainkey.{domain.group(1)}.".encode()
    try:
        if not resolver(name):
            return False
    except Exception:
        return False
    try:
        return not dkim.DKIM(raw, logger=_DKIM_LOG).verify(dnsfunc=resolver)
    except dkim.ValidationError:
        return True  # e.g. the body hash does not match: the message was altered
    except dkim.DKIMException:
        return False
    except Exception:
        return False
