"""The demo practice's risk data: a completed assessment, a previous one, a trend, a register."""

from __future__ import annotations

from carewall.core.runtime import Runtime
from carewall.registry import evidence_providers, seed_demo
from carewall.risk import queries
from carewall.risk.report import build_report


def test_the_demo_has_two_completed_assessments_so_the_trend_shows(runtime: Runtime) -> None:
    seed_demo(runtime)

    with runtime.db.sessions() as session:
        history = queries.assessments(session)
        risks = queries.risks(session)
        files = queries.attachments(session, history[0].id)
    assert [a.status for a in history] == ["completed", "completed"]
    assert history[0].previous_id == history[1].id
    assert len(risks) == 5
    assert all(r.owner and r.due_date for r in risks)
    assert [f.filename for f in files] == ["incident-response-plan.txt"]

    report = build_report(runtime, evidence_providers())
    assert not report.draft
    assert [p.when for p in report.trend] == sorted(p.when for p in report.trend)
    assert len(report.trend) == 2
    assert report.trend[1].readiness > report.trend[0].readiness
    assert "trend" in report.charts
    assert report.comparison is not None
    assert report.comparison.changes
    assert report.view.answers["mfa-staff"].source == "auto"  # measured, not carried over
    assert report.view.evidence.sections["audit"]["intact"] is True
