"""The analyzer's picture of the organisation, built from settings in one place.

The CLI, the web page, the API and mailbox polling must judge a message
alike; they all get their context here.
"""

from __future__ import annotations

from collections.abc import Callable

from carewall.core.config import Settings
from carewall.phishing.analyzer import AnalyzerContext


def context_from(
    settings: Settings, simulation_verifier: Callable[[str], bool] | None = None
) -> AnalyzerContext:
    """An offline context (no DNS resolver): the organisation's domains, names, thresholds.

    `simulation_verifier` checks the signed simulation header (see
    `phishing.simulation.marker`); without it no simulation header is trusted.
    """
    return AnalyzerContext(
        simulation_verifier=simulation_verifier,
        org_domains=frozenset(settings.mail_org_domains),
        vip_names=frozenset(settings.mail_vip_names),
        known_senders=frozenset(settings.mail_known_senders),
        phishing_threshold=settings.mail_phishing_threshold,
        suspicious_threshold=settings.mail_suspicious_threshold,
    )
