"""Coverage per framework, the readiness grade and the plan's order, from answers."""

from __future__ import annotations

from carewall.risk.catalogue import catalogue
from carewall.risk.scoring import LinkedRisk, coverage, heat_counts, plan, readiness, risk_level

SIZE = "small"


def all_answers(value: str) -> dict[str, str]:
    return {q.id: value for q in catalogue().applicable(SIZE)}


def test_all_yes_covers_every_framework_and_earns_an_a() -> None:
    answers = all_answers("yes")
    assert all(c.score == 1.0 for c in coverage(catalogue(), answers, SIZE))
    result = readiness(catalogue(), answers, SIZE)
    assert (result.grade, result.score, result.gaps) == ("A", 1.0, [])


def test_unanswered_counts_as_not_in_place() -> None:
    result = readiness(catalogue(), {}, SIZE)
    assert result.grade == "F"
    assert result.score == 0.0
    assert all(c.score == 0.0 for c in coverage(catalogue(), {}, SIZE))


def test_a_missing_decline_control_caps_the_grade_and_is_named_first() -> None:
    answers = all_answers("yes")
    for qid in catalogue().controls["mfa"].question_ids:
        answers[qid] = "no"
    answers["vendor-inventory"] = "no"  # a "considered" control, also below the line
    result = readiness(catalogue(), answers, SIZE)
    assert result.score > 0.8  # most controls are in place...
    assert result.grade == "D"  # ...but MFA's absence alone leads to declines
    assert result.gaps[0].control.id == "mfa"
    assert "declined" in result.gaps[0].control.consequence


def test_not_applicable_drops_out_of_coverage() -> None:
    answers = all_answers("yes")
    answers["acc-clearinghouse"] = "na"
    hipaa = next(c for c in coverage(catalogue(), answers, SIZE) if c.framework == "hipaa")
    assert hipaa.item_scores is not None
    assert hipaa.item_scores["164.308(a)(4)(ii)(A)"] is None
    assert hipaa.score == 1.0
    assert hipaa.required_score == 1.0


def test_the_plan_ranks_decline_controls_and_low_effort_first_and_linked_risks_raise_a_gap() -> (
    None
):
    answers = all_answers("yes")
    answers["mfa-email"] = "no"  # decline control, effort 1
    answers["eol-none"] = "no"  # surcharge control, effort 3
    answers["phys-maintenance"] = "no"  # no insurer control, effort 1
    ranked = [item.question.id for item in plan(catalogue(), answers, SIZE, [])]
    assert ranked == ["mfa-email", "phys-maintenance", "eol-none"]
    risk = LinkedRisk("Burglary", residual=25, sections=("physical",), open=True)
    boosted = plan(catalogue(), answers, SIZE, [risk])
    physical = next(item for item in boosted if item.question.id == "phys-maintenance")
    assert physical.risks == ("Burglary",)
    assert physical.reduction == 2.0  # doubled by a residual score of 25


def test_heat_counts_and_levels() -> None:
    grid = heat_counts([(5, 5), (5, 5), (1, 2)])
    assert grid[4][4] == 2
    assert grid[0][1] == 1
    assert [risk_level(s) for s in (2, 6, 12, 25)] == ["low", "medium", "high", "critical"]
