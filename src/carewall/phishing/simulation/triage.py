"""Where reported mail meets the campaigns: a reported simulation counts as that person's report.

A forwarded simulation is matched to its recipient through its signed
marker. A marker that does not verify is audited as forged: someone is
dressing real mail up as a drill, and the officer should know.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carewall.audit import Outcome
from carewall.core.context import Origin
from carewall.core.runtime import Runtime
from carewall.phishing.simulation.events import audit
from carewall.phishing.simulation.marker import Found
from carewall.phishing.simulation.tags import SimulationTag
from carewall.phishing.simulation.tracking import Hit, record_hit_in


def simulation_reported_in(
    session: Session, runtime: Runtime, found: Found, origin: Origin, report_id: str
) -> None:
    """Record the report on the campaign (verified marker) or audit a forged one."""
    if found.marker is not None:
        hit = Hit(found.marker.rid, "report", "triage", ip=origin.ip, user_agent=origin.user_agent)
        record_hit_in(session, runtime.settings, hit)
    elif found.forged:
        audit(
            session,
            SimulationTag.MARKER_FORGED,
            origin,
            actor="triage",
            subject=f"mail_report:{report_id}",
            outcome=Outcome.DENIED,
        )
