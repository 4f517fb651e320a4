"""Phishing defence: the e-mail analyzer (campaigns and tracking arrive later).

The analyzer is a pure library; see :mod:`carewall.phishing.analyzer`.
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
