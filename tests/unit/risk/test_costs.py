"""The breach-cost simulation: reproducible, ordered percentiles, evidence and practice figures."""

from __future__ import annotations

import pytest

from carewall.core.errors import ValidationError
from carewall.risk.costs import check_range, effective_figures, simulate


def test_the_same_figures_give_the_same_estimate() -> None:
    figures = effective_figures({}, {})
    first, second = simulate(figures, runs=2000), simulate(figures, runs=2000)
    assert first.p50 == second.p50
    assert first.p10 < first.p50 < first.p90
    assert sum(count for _, count in first.histogram) == 2000


def test_records_held_come_from_the_vault_unless_the_practice_sets_them() -> None:
    measured = effective_figures({}, {"records": {"patients": 12000}})
    held = next(f for f in measured if f.key == "records_held")
    assert (held.mode, held.origin) == (12000, "evidence")
    overridden = effective_figures(
        {"records_held": (500.0, 500.0, 500.0, "paper")}, {"records": {"patients": 12000}}
    )
    held = next(f for f in overridden if f.key == "records_held")
    assert (held.mode, held.origin, held.note) == (500, "practice", "paper")


def test_more_records_cost_more() -> None:
    small = simulate(effective_figures({}, {"records": {"patients": 1000}}), runs=2000)
    large = simulate(effective_figures({}, {"records": {"patients": 100000}}), runs=2000)
    assert large.p50 > small.p50 * 5


def test_figures_must_be_ordered_and_shares_at_most_one() -> None:
    with pytest.raises(ValidationError):
        check_range("cost_per_record", 200, 100, 300)
    with pytest.raises(ValidationError):
        check_range("share_exposed", 0.1, 0.5, 1.5)
    with pytest.raises(ValidationError):
        check_range("incident_response", -1, 0, 1)
