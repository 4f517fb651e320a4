"""Phishing e-mail analyzer: score a raw message and explain why.

Pure library: no network (DKIM verification only through an injected
resolver), no database, no web framework. ``analyze_bytes`` never raises on
bad input; a malformed message gets a verdict with a ``parse.malformed``
signal.
"""

from carewall.phishing.analyzer.calibration import legitimate_per_100, rarity_sentence
from carewall.phishing.analyzer.engine import SIMULATION_HEADER, analyze_bytes, default_context
from carewall.phishing.analyzer.fit import fit_weights
from carewall.phishing.analyzer.formats import to_rfc822
from carewall.phishing.analyzer.models import (
    DEFAULT_PHISHING_THRESHOLD,
    DEFAULT_SUSPICIOUS_THRESHOLD,
    AnalyzerContext,
    DnsResolver,
    Signal,
    Verdict,
    VerdictLabel,
)
from carewall.phishing.analyzer.sanitize import strip_receiving_headers
from carewall.phishing.analyzer.sources import iter_messages

__all__ = [
    "DEFAULT_PHISHING_THRESHOLD",
    "DEFAULT_SUSPICIOUS_THRESHOLD",
    "SIMULATION_HEADER",
    "AnalyzerContext",
    "DnsResolver",
    "Signal",
    "Verdict",
    "VerdictLabel",
    "analyze_bytes",
    "default_context",
    "fit_weights",
    "iter_messages",
    "legitimate_per_100",
    "rarity_sentence",
    "strip_receiving_headers",
    "to_rfc822",
]
