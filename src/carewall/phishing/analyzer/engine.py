"""The analyzer's entry point: bytes in, an explained verdict out, never an exception."""

from __future__ import annotations

import logging

from carewall.phishing.analyzer.formats import to_rfc822
from carewall.phishing.analyzer.models import AnalyzerContext, Verdict
from carewall.phishing.analyzer.parse import ParsedMessage, parse_message
from carewall.phishing.analyzer.scoring import build_signals, make_verdict
from carewall.phishing.analyzer.signals import FAMILIES, Hit
from carewall.phishing.analyzer.signals.deception import gate
from carewall.phishing.analyzer.view import build_view

#: Header that marks a message sent by Carewall's own phishing simulations.
SIMULATION_HEADER = "X-Carewall-Simulation"

_log = logging.getLogger(__name__)
_LIMIT_WORDS = ("larger than", "more than", "deeper than")


def default_context() -> AnalyzerContext:
    """A context with no organisation data and the default thresholds."""
    return AnalyzerContext()


_DEFAULT_CONTEXT = default_context()


def analyze_bytes(raw: bytes, context: AnalyzerContext | None = None) -> Verdict:
    """Score one RFC 5322 message.

    Malformed or hostile input yields a verdict carrying a ``parse.*``
    signal; only a bug in a rule could raise, and even then the failing
    rule family is skipped and logged, so the caller still gets a verdict.
    """
    context = context or _DEFAULT_CONTEXT
    raw = to_rfc822(bytes(raw))
    parsed = parse_message(raw)
    subject, from_ = parsed.subject[:500], parsed.get("from")[:500]
    marker = parsed.get(SIMULATION_HEADER) if parsed.has(SIMULATION_HEADER) else None
    if marker is not None and _is_ours(marker, context):
        hits = [Hit("simulation", f"{SIMULATION_HEADER}: {marker[:100]}")]
        signals = build_signals(hits, context)
        return make_verdict(
            signals, context, subject=subject, from_=from_, malformed=False, simulation=True
        )
    hits = list(_problem_hits(parsed))
    if marker is not None:  # the header without a valid signature: someone forged it
        hits.append(Hit("simulation.forged", f"{SIMULATION_HEADER}: {marker[:100]}"))
    view = build_view(parsed, raw if context.dns_resolver is not None else b"")
    for family in FAMILIES:
        try:
            hits.extend(family(view, context))
        except Exception:  # one broken rule family must not lose the whole verdict
            _log.exception("rule family %s failed", getattr(family, "__module__", family))
    signals = build_signals(gate(hits, view), context)
    malformed = any(h.id == "parse.malformed" for h in hits)
    return make_verdict(signals, context, subject=subject, from_=from_, malformed=malformed)


def _is_ours(value: str, context: AnalyzerContext) -> bool:
    """Only a header whose signature verifies marks Carewall's own simulation."""
    verifier = context.simulation_verifier
    return verifier is not None and verifier(value)


def _problem_hits(parsed: ParsedMessage) -> list[Hit]:
    hits: list[Hit] = []
    for problem in parsed.problems:
        kind = "limits_exceeded" if any(w in problem for w in _LIMIT_WORDS) else "malformed"
        hits.append(Hit(f"parse.{kind}", problem))
    return hits
