"""From rule hits to a scored, explained verdict.

Scoring is deliberately a plain sum, as in SpamAssassin: every point of the
score is owned by a named signal the reader can check.
"""

from __future__ import annotations

from collections.abc import Iterable

from carewall.phishing.analyzer.limits import MAX_EVIDENCE_CHARS
from carewall.phishing.analyzer.models import AnalyzerContext, Signal, Verdict, VerdictLabel
from carewall.phishing.analyzer.resources import rule_specs
from carewall.phishing.analyzer.signals.base import Hit

_MAX_EVIDENCE_ITEMS = 3


def build_signals(hits: Iterable[Hit], context: AnalyzerContext) -> tuple[Signal, ...]:
    """One Signal per id, evidence of its first few occurrences, weights from data."""
    specs = rule_specs()
    evidence: dict[str, list[str]] = {}
    for hit in hits:
        items = evidence.setdefault(hit.id, [])
        if len(items) < _MAX_EVIDENCE_ITEMS and hit.evidence not in items:
            items.append(hit.evidence)
    signals: list[Signal] = []
    for signal_id, items in evidence.items():
        spec = specs[signal_id]
        weight = float(context.weight_overrides.get(signal_id, spec.weight))
        signals.append(
            Signal(
                id=signal_id,
                weight=weight,
                explanation=spec.explanation,
                evidence=" | ".join(items)[:MAX_EVIDENCE_CHARS],
            )
        )
    signals.sort(key=lambda s: (-s.weight, s.id))
    return tuple(signals)


def label_for(score: float, context: AnalyzerContext) -> VerdictLabel:
    """Map a score onto the context's thresholds."""
    if score >= context.phishing_threshold:
        return "phishing"
    if score >= context.suspicious_threshold:
        return "suspicious"
    return "clean"


def make_verdict(
    signals: tuple[Signal, ...],
    context: AnalyzerContext,
    *,
    subject: str,
    from_: str,
    malformed: bool,
    simulation: bool = False,
) -> Verdict:
    """Assemble the verdict; a simulation is always ``clean``."""
    score = round(sum(s.weight for s in signals), 2)
    label: VerdictLabel = "clean" if simulation else label_for(score, context)
    return Verdict(
        verdict=label,
        score=score,
        signals=signals,
        simulation=simulation,
        malformed=malformed,
        subject=subject,
        from_=from_,
    )
