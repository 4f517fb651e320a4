"""Rules that need to know the organisation: its domains, VIPs and trusted senders.

Without a configured context these rules stay silent; with one they catch
the attacks aimed at this organisation in particular (a colleague's name
on an outside address, the organisation's own name in a display name).
"""

from __future__ import annotations

from collections.abc import Iterator

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.resources import host_in
from carewall.phishing.analyzer.signals.base import Hit
from carewall.phishing.analyzer.urls import domain_label
from carewall.phishing.analyzer.view import MessageView

_AUTH_FAILURE_HEADER = "authentication-results"


def check(view: MessageView, context: AnalyzerContext) -> Iterator[Hit]:
    """VIP and organisation impersonation, and the known-sender allow list."""
    sender = view.sender
    if not sender.address:
        return
    internal = bool(context.org_domains) and (
        host_in(sender.domain, context.org_domains) is not None
        or sender.domain in context.org_domains
    )
    display = " ".join(sender.display.lower().split())
    evidence = f'"{sender.display[:120]}" <{sender.address}>'
    if not internal and display:
        for vip in context.vip_names:
            if vip and vip in display:
                yield Hit("context.vip_impersonation", f"{vip} on {evidence}")
                break
        for domain in context.org_domains:
            label = domain_label(domain)
            if len(label) >= 4 and (domain in display or label in display.replace(" ", "")):
                yield Hit("context.org_name_claim", f"{domain} claimed by {evidence}")
                break
    if (
        internal
        and view.reply_to.registered
        and not (host_in(view.reply_to.domain, context.org_domains))
    ):
        yield Hit("context.internal_reply_external", f"Reply-To {view.reply_to.address}")
    if _is_known(sender.address, context) and not _auth_failed(view):
        yield Hit("context.known_sender", sender.address)


def _is_known(address: str, context: AnalyzerContext) -> bool:
    if not context.known_senders:
        return False
    domain = address.rpartition("@")[2]
    return (
        address in context.known_senders
        or domain in context.known_senders
        or ("@" + domain) in context.known_senders
    )


def _auth_failed(view: MessageView) -> bool:
    """A spoofed known sender must not earn trust: any auth failure cancels it."""
    headers = view.parsed.get_all(_AUTH_FAILURE_HEADER)
    return bool(headers) and "fail" in headers[0].lower()
