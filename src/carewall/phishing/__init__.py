"""Layer 4: phishing defence: the e-mail analyzer, reported mail, and simulation campaigns.

The analyzer is a pure library (:mod:`carewall.phishing.analyzer`); reported mail is
stored encrypted and triaged by the security officer; simulated phishing campaigns,
their teachable moments and remedial training live in :mod:`carewall.phishing.simulation`.
"""

from carewall.phishing.analyzer import (
    SIMULATION_HEADER,
    AnalyzerContext,
    Signal,
    Verdict,
    analyze_bytes,
    iter_messages,
    rarity_sentence,
    strip_receiving_headers,
    to_rfc822,
)

__all__ = [
    "SIMULATION_HEADER",
    "AnalyzerContext",
    "Signal",
    "Verdict",
    "analyze_bytes",
    "iter_messages",
    "rarity_sentence",
    "strip_receiving_headers",
    "to_rfc822",
]
