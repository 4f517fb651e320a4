"""Auto-evidence: every domain's measured figures, merged into one dated set.

Each domain registers providers (`Domain(evidence={"mfa": ...})`); a provider
takes the runtime and returns a JSON-able dict with `as_of` (when the figures
were measured, ISO-8601 UTC, or None when never measured). This module calls
them all, makes sure every required section is present (a module that has not
landed yet reads "not measured yet"), marks what is older than
`CAREWALL_RISK_EVIDENCE_STALE_DAYS`, and answers the questions the rule book
can answer. The risk package cannot import the registry (it sits above), so
the providers are handed in by whoever calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from carewall.risk.rules import AutoAnswer, evaluate, parse_time, rulebook

log = logging.getLogger(__name__)

Provider = Callable[[Runtime], Mapping[str, Any]]
Providers = Mapping[str, Provider]

MEASURED, STALE, NOT_MEASURED, FAILED = "measured", "stale", "not measured yet", "error"


@dataclass(frozen=True)
class EvidenceSet:
    """The evidence sections as measured at one moment, with staleness worked out."""

    sections: Mapping[str, Mapping[str, Any]]
    collected_at: datetime
    stale_days: int

    def status(self, section_id: str) -> str:
        """measured, stale, not measured yet, or error (computed here, whatever a provider says)."""
        section = self.sections.get(section_id) or {}
        if section.get("error"):
            return FAILED
        as_of = parse_time(str(section.get("as_of") or ""))
        if as_of is None:
            return NOT_MEASURED
        if self.collected_at - as_of > timedelta(days=self.stale_days):
            return STALE
        return MEASURED

    def stale_map(self) -> dict[str, bool]:
        """Section id -> whether its figures are older than the configured age."""
        return {name: self.status(name) == STALE for name in self.sections}

    def auto_answers(self) -> dict[str, AutoAnswer]:
        """Every question the rule book can answer from these figures (unknown ones included)."""
        stale = self.stale_map()
        return {
            question: evaluate(rule, self.sections, self.collected_at, stale)
            for question, rule in rulebook().rules.items()
        }

    def as_json(self) -> dict[str, dict[str, Any]]:
        """`carewall risk evidence --json`: every section with `as_of` and a `status`."""
        out: dict[str, dict[str, Any]] = {}
        for name, section in self.sections.items():
            body = dict(section)
            body.setdefault("status", self.status(name))
            out[name] = body
        return out


def collect(runtime: Runtime, providers: Providers) -> EvidenceSet:
    """Call every provider now; required sections without one read "not measured yet"."""
    found: dict[str, dict[str, Any]] = {}
    for name, provider in providers.items():
        found[name] = _call(runtime, name, provider)
    return EvidenceSet(
        sections=_ordered(found),
        collected_at=utcnow(),
        stale_days=runtime.settings.risk_evidence_stale_days,
    )


def from_snapshot(
    sections: Mapping[str, Any], collected_at: datetime, stale_days: int
) -> EvidenceSet:
    """The evidence frozen in a completed assessment, read back."""
    return EvidenceSet(
        sections=_ordered(dict(sections)), collected_at=collected_at, stale_days=stale_days
    )


def _call(runtime: Runtime, name: str, provider: Provider) -> dict[str, Any]:
    """One provider's section; a failing provider reads as an error, never breaks the report."""
    try:
        raw = provider(runtime)
    except Exception:  # a broken figure must not take the whole report down with it
        log.exception("evidence provider %s failed", name)
        return {"as_of": None, "error": "The provider of this evidence failed; see the server log."}
    section = jsonable(dict(raw))
    if not isinstance(section, dict):
        return {"as_of": None, "error": "The provider returned no figures."}
    section.setdefault("as_of", None)
    return section


def _ordered(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Known sections in the rule book's order (required ones always present), then the rest."""
    ordered: dict[str, dict[str, Any]] = {}
    for spec in rulebook().sections:
        if spec.id in found:
            ordered[spec.id] = dict(found[spec.id])
        elif spec.required:
            ordered[spec.id] = {"as_of": None, "status": NOT_MEASURED}
    for name in sorted(set(found) - set(ordered)):
        ordered[name] = dict(found[name])
    return ordered


def jsonable(value: Any) -> Any:
    """Datetimes as ISO-8601 text, enums as their values, tuples and sets as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value
