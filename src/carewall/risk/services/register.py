"""Writes to the risk register and the breach-cost figures, and the report's audit entry.

Every change is audited in its transaction; a register entry carries a version
so that two people editing it at once cannot overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.db import new_id
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.risk import queries
from carewall.risk.access import require_editor, require_reader
from carewall.risk.catalogue import catalogue
from carewall.risk.costs import check_range, cost_model
from carewall.risk.models import RiskCostFigure, RiskEntry
from carewall.risk.services.assessments import (
    MAX_NOTE,
    MAX_OWNER,
    MAX_TITLE,
    ConcurrentChangeError,
    audit,
)
from carewall.risk.tags import RiskTag as Tag

RISK_STATUSES = ("open", "mitigating", "accepted", "closed")


@dataclass(frozen=True)
class RiskInput:
    """A register entry as submitted."""

    title: str
    threat: str = ""
    asset: str = ""
    vulnerability: str = ""
    inherent_likelihood: int = 3
    inherent_impact: int = 3
    residual_likelihood: int = 3
    residual_impact: int = 3
    owner: str = ""
    due_date: date | None = None
    status: str = "open"
    controls: tuple[str, ...] = ()
    notes: str = ""


def _checked(given: RiskInput) -> RiskInput:
    book = catalogue()
    title = " ".join(given.title.split())[:MAX_TITLE]
    if not title:
        raise ValidationError("Give the risk a short title.")
    threats = {t.id for t in book.frameworks["hicp"].threats}
    if given.threat and given.threat not in threats:
        raise ValidationError("Choose one of the HICP threats, or none.")
    scores = (
        given.inherent_likelihood,
        given.inherent_impact,
        given.residual_likelihood,
        given.residual_impact,
    )
    if any(not 1 <= s <= 5 for s in scores):
        raise ValidationError("Likelihood and impact are scored from 1 to 5.")
    if given.status not in RISK_STATUSES:
        raise ValidationError(f"Status is one of {', '.join(RISK_STATUSES)}.")
    sections = {s.id for s in book.sections}
    if not set(given.controls) <= sections:
        raise ValidationError("Link the risk to controls from the list.")
    return RiskInput(
        title=title,
        threat=given.threat,
        asset=given.asset.strip()[:300],
        vulnerability=given.vulnerability.strip()[:500],
        inherent_likelihood=given.inherent_likelihood,
        inherent_impact=given.inherent_impact,
        residual_likelihood=given.residual_likelihood,
        residual_impact=given.residual_impact,
        owner=" ".join(given.owner.split())[:MAX_OWNER],
        due_date=given.due_date,
        status=given.status,
        controls=tuple(dict.fromkeys(given.controls)),
        notes=given.notes.strip()[:MAX_NOTE],
    )


def create_risk(runtime: Runtime, caller: Caller, given: RiskInput) -> str:
    """Add a risk to the register."""
    require_editor(caller)
    checked, now = _checked(given), utcnow()
    with runtime.db.transaction() as session:
        row = RiskEntry(
            id=new_id(),
            version=1,
            created_at=now,
            created_by=caller.ref,
            updated_at=now,
            updated_by=caller.ref,
        )
        _apply(row, checked)
        session.add(row)
        audit(
            session,
            caller,
            Tag.RISK_CREATED,
            f"risk:{row.id}",
            inherent=checked.inherent_likelihood * checked.inherent_impact,
            residual=checked.residual_likelihood * checked.residual_impact,
            status=checked.status,
        )
    return row.id


def update_risk(
    runtime: Runtime, caller: Caller, risk_id: str, given: RiskInput, version: int
) -> None:
    """Change a risk; refused when someone changed it since the form was loaded."""
    require_editor(caller)
    checked = _checked(given)
    with runtime.db.transaction() as session:
        row = queries.found(session, RiskEntry, risk_id)
        if row.version != version:
            raise ConcurrentChangeError("Someone changed this risk since you opened it; reload.")
        _apply(row, checked)
        row.version, row.updated_at, row.updated_by = row.version + 1, utcnow(), caller.ref
        audit(
            session,
            caller,
            Tag.RISK_UPDATED,
            f"risk:{row.id}",
            residual=checked.residual_likelihood * checked.residual_impact,
            status=checked.status,
            version=row.version,
        )


def _apply(row: RiskEntry, given: RiskInput) -> None:
    row.title, row.threat, row.asset = given.title, given.threat, given.asset
    row.vulnerability, row.owner, row.due_date = given.vulnerability, given.owner, given.due_date
    row.inherent_likelihood, row.inherent_impact = given.inherent_likelihood, given.inherent_impact
    row.residual_likelihood, row.residual_impact = given.residual_likelihood, given.residual_impact
    row.status, row.controls, row.notes = given.status, list(given.controls), given.notes


def add_starter_risks(runtime: Runtime, caller: Caller) -> int:
    """One register entry per HICP threat not in the register yet, from the threat's starter."""
    require_editor(caller)
    with runtime.db.sessions() as session:
        present = {r.threat for r in queries.risks(session)}
    added = 0
    for threat in catalogue().frameworks["hicp"].threats:
        if threat.id in present:
            continue
        starter = threat.starter_risk
        create_risk(
            runtime,
            caller,
            RiskInput(
                title=threat.title,
                threat=threat.id,
                asset=starter.asset,
                vulnerability=starter.vulnerability,
                inherent_likelihood=starter.likelihood,
                inherent_impact=starter.impact,
                residual_likelihood=starter.likelihood,
                residual_impact=starter.impact,
            ),
        )
        added += 1
    return added


def set_cost_figures(
    runtime: Runtime,
    caller: Caller,
    figures: Mapping[str, tuple[float, float, float] | None],
    *,
    note: str = "",
) -> tuple[list[str], list[str]]:
    """Set the practice's own breach-cost figures; None goes back to the cited default.

    Returns the keys set and the keys reset; nothing changed writes nothing.
    """
    require_editor(caller)
    model = cost_model()
    for key, values in figures.items():
        model.figure(key)
        if values is not None:
            check_range(key, *values)
    now, note = utcnow(), note.strip()[:500]
    with runtime.db.transaction() as session:
        current = queries.cost_overrides(session)
        changed = [k for k, v in figures.items() if v is not None and current.get(k, ())[:3] != v]
        reset = [k for k, v in figures.items() if v is None and k in current]
        for key in reset:
            session.delete(session.get(RiskCostFigure, key))
        for key in changed:
            low, mode, high = figures[key] or (0.0, 0.0, 0.0)
            row = session.get(RiskCostFigure, key) or RiskCostFigure(key=key)
            row.low, row.mode, row.high = low, mode, high
            row.note, row.updated_at, row.updated_by = note, now, caller.ref
            session.add(row)
        if changed or reset:
            audit(
                session,
                caller,
                Tag.COSTS_UPDATED,
                "risk:costs",
                changed=sorted(changed),
                reset=sorted(reset),
            )
    return changed, reset


def record_report(
    runtime: Runtime, caller: Caller, fmt: str, assessment_id: str | None, fingerprint: str
) -> None:
    """Audit that the insurance report left Carewall: format, assessment and fingerprint.

    The fingerprint (SHA-256 of the evidence and answers the report states) in
    the hash chain lets an insurer check later that the report's figures existed then.
    """
    require_reader(caller)
    with runtime.db.transaction() as session:
        audit(
            session,
            caller,
            Tag.REPORT_GENERATED,
            f"risk-assessment:{assessment_id or 'none'}",
            format=fmt,
            fingerprint=fingerprint,
        )
