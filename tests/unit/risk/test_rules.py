"""Turning figures into answers: the data-driven rules, staleness and how answers combine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from carewall.risk.evidence import EvidenceSet
from carewall.risk.rules import combine, ratio_figure, rulebook

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def evidence(sections: dict[str, dict[str, Any]], stale_days: int = 30) -> EvidenceSet:
    return EvidenceSet(sections=sections, collected_at=NOW, stale_days=stale_days)


def mfa(**figures: Any) -> dict[str, Any]:
    return {"as_of": NOW.isoformat(), **figures}


def test_coverage_reads_n_of_m_with_the_percentage() -> None:
    assert ratio_figure(4, 5) == "4 of 5 (80%)"
    assert ratio_figure(0, 0) == "0 of 0"


def test_staff_mfa_is_yes_only_at_full_coverage_and_partly_from_80_percent() -> None:
    def answer(with_mfa: int, active: int) -> str:
        found = evidence({"mfa": mfa(staff_with_mfa=with_mfa, staff_active=active)})
        return found.auto_answers()["mfa-staff"].answer

    assert answer(5, 5) == "yes"
    assert answer(4, 5) == "partial"
    assert answer(3, 5) == "no"
    assert answer(0, 0) == "na"  # nobody to protect


def test_the_answer_carries_the_figures_their_date_and_where_they_come_from() -> None:
    found = evidence({"mfa": mfa(admins_with_mfa=1, admins_active=2)})
    auto = found.auto_answers()["mfa-privileged"]
    assert auto.answer == "no"
    assert auto.as_of == NOW.isoformat()
    (measured,) = auto.measured
    assert measured.figure == "1 of 2 (50%)"
    assert measured.link == "/admin/users"


def test_a_section_never_measured_answers_nothing() -> None:
    found = evidence({"backup": {"as_of": None}})
    auto = found.auto_answers()["backup-tested"]
    assert auto.answer == "unknown"
    assert not auto.answered
    assert auto.measured[0].figure == "not measured yet"
    assert found.status("backup") == "not measured yet"


def test_a_measured_section_without_the_figure_uses_the_rules_missing_answer() -> None:
    found = evidence({"backup": {"as_of": NOW.isoformat(), "last_restore_drill_at": None}})
    assert found.auto_answers()["backup-tested"].answer == "no"  # never drilled


def test_ages_are_measured_in_days_from_the_collection_time() -> None:
    drilled = (NOW - timedelta(days=200)).isoformat()
    found = evidence({"backup": {"as_of": NOW.isoformat(), "last_restore_drill_at": drilled}})
    auto = found.auto_answers()["backup-tested"]
    assert auto.answer == "partial"  # within a year, not within six months
    assert auto.measured[0].figure == "200 days ago (2024-11-13)"


def test_old_evidence_is_flagged_stale_but_still_answers() -> None:
    old = (NOW - timedelta(days=45)).isoformat()
    found = evidence({"mfa": {"as_of": old, "staff_with_mfa": 2, "staff_active": 2}})
    auto = found.auto_answers()["mfa-staff"]
    assert found.status("mfa") == "stale"
    assert auto.answer == "yes"
    assert auto.stale
    assert not evidence({"mfa": {"as_of": old}}, stale_days=60).stale_map()["mfa"]


def test_nested_fields_and_several_checks_give_the_worst_answer() -> None:
    alerts = {"as_of": NOW.isoformat(), "open_by_severity": {"critical": 0, "high": 1}}
    assert evidence({"alerts": alerts}).auto_answers()["log-monitoring"].answer == "partial"
    alerts["open_by_severity"] = {"critical": 1, "high": 0}
    assert evidence({"alerts": alerts}).auto_answers()["log-monitoring"].answer == "no"


def test_info_checks_show_a_figure_without_deciding() -> None:
    section = mfa(staff_with_mfa=3, staff_active=3, pending_invitations=4)
    auto = evidence({"mfa": section}).auto_answers()["mfa-staff"]
    assert auto.answer == "yes"
    assert [m.figure for m in auto.measured] == ["3 of 3 (100%)", "4"]


def test_combining_answers() -> None:
    assert combine(["yes", "partial"]) == "partial"
    assert combine(["yes", "unknown"]) == "unknown"
    assert combine(["na", "na"]) == "na"
    assert combine(["na", "yes"]) == "yes"
    assert combine([]) == "unknown"


def test_every_rule_evaluates_against_empty_evidence_without_error() -> None:
    found = evidence({})
    answers = found.auto_answers()
    assert set(answers) == set(rulebook().rules)
    assert all(a.answer == "unknown" for a in answers.values())
