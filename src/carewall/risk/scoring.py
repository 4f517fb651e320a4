"""Scores from answers: coverage per framework, insurance readiness and its grade, the plan.

Pure functions over the catalogue and a mapping of question id to answer
(`yes`, `partial`, `no`, `na`, or `unknown` for unanswered). An unanswered
question counts as not in place: a control nobody can vouch for does not
count for the insurer either. Not-applicable questions drop out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

from carewall.risk.catalogue import Catalogue, Control, Framework, Question
from carewall.risk.rules import NA, SCORES, UNKNOWN

SEVERITY_ORDER = {"decline": 0, "surcharge": 1, "considered": 2}


def score_of(answer: str) -> float | None:
    """1 yes, 0.5 partial, 0 no or unanswered; None when not applicable."""
    if answer == NA:
        return None
    return SCORES.get(answer, 0.0)


def _mean(scores: Sequence[float | None]) -> float | None:
    counted = [s for s in scores if s is not None]
    return fmean(counted) if counted else None


@dataclass(frozen=True)
class GroupScore:
    """Coverage of one heading of a framework (a CSF function, a HICP practice)."""

    id: str
    title: str
    score: float | None
    items: int


@dataclass(frozen=True)
class Coverage:
    """How much of one framework the answers cover."""

    framework: str
    title: str
    score: float
    items_scored: int
    items_total: int
    groups: tuple[GroupScore, ...]
    required_score: float | None = None  # HIPAA required specifications only
    item_scores: Mapping[str, float | None] | None = None


def item_scores(
    catalogue: Catalogue, framework: Framework, answers: Mapping[str, str], size: str
) -> dict[str, float | None]:
    """Each applicable item's score: the mean of the answers to the questions serving it."""
    serving: dict[str, list[float | None]] = {}
    for question in catalogue.applicable(size):
        for item_id in question.maps.get(framework.id, ()):
            serving.setdefault(item_id, []).append(score_of(answers.get(question.id, UNKNOWN)))
    return {item.id: _mean(serving.get(item.id, [])) for item in framework.items_for(size)}


def coverage(catalogue: Catalogue, answers: Mapping[str, str], size: str) -> list[Coverage]:
    """Coverage of every framework, in catalogue order."""
    return [
        _framework_coverage(catalogue, framework, answers, size)
        for framework in catalogue.frameworks.values()
    ]


def _framework_coverage(
    catalogue: Catalogue, framework: Framework, answers: Mapping[str, str], size: str
) -> Coverage:
    scores = item_scores(catalogue, framework, answers, size)
    by_group: dict[str, list[float | None]] = {}
    for item in framework.items_for(size):
        by_group.setdefault(framework.top_group(item).id, []).append(scores[item.id])
    groups = tuple(
        GroupScore(gid, framework.groups[gid].title, _mean(values), len(values))
        for gid, values in by_group.items()
    )
    required = None
    if framework.id == "hipaa":
        required = _mean([scores[i.id] for i in framework.items_for(size) if i.required])
    counted = [s for s in scores.values() if s is not None]
    return Coverage(
        framework=framework.id,
        title=framework.short,
        score=fmean(counted) if counted else 0.0,
        items_scored=len(counted),
        items_total=len(scores),
        groups=groups,
        required_score=required,
        item_scores=scores,
    )


@dataclass(frozen=True)
class ControlScore:
    """One insurer key control: how far it is in place."""

    control: Control
    score: float
    answered: int
    questions: int
    gap: bool


@dataclass(frozen=True)
class Readiness:
    """The insurance-readiness grade, and the controls that hold it back."""

    score: float
    grade: str
    meaning: str
    controls: tuple[ControlScore, ...]

    @property
    def gaps(self) -> list[ControlScore]:
        """Controls below the gap line, the ones leading to decline first."""
        found = [c for c in self.controls if c.gap]
        return sorted(found, key=lambda c: (SEVERITY_ORDER[c.control.severity], c.score))


def readiness(catalogue: Catalogue, answers: Mapping[str, str], size: str) -> Readiness:
    """Weighted share of key controls in place, and the grade it earns (insurer.yaml)."""
    grading = catalogue.grading
    scored: list[ControlScore] = []
    for control in catalogue.controls.values():
        questions = [
            catalogue.questions[q]
            for q in control.question_ids
            if catalogue.questions[q].applies_to(size)
        ]
        values = [score_of(answers.get(q.id, UNKNOWN)) for q in questions]
        mean = _mean(values)
        score = 1.0 if mean is None else mean  # every question not applicable: nothing missing
        scored.append(
            ControlScore(
                control=control,
                score=score,
                answered=sum(1 for q in questions if answers.get(q.id, UNKNOWN) != UNKNOWN),
                questions=len(questions),
                gap=score < grading.gap_below,
            )
        )
    total_weight = sum(grading.weights[c.control.severity] for c in scored)
    overall = sum(grading.weights[c.control.severity] * c.score for c in scored) / total_weight
    floor = min((c.score for c in scored if c.control.severity == "decline"), default=1.0)
    band = next(
        b
        for b in grading.bands
        if overall >= b.min_readiness - 1e-9 and floor >= b.decline_floor - 1e-9
    )
    return Readiness(overall, band.grade, band.meaning, tuple(scored))


@dataclass(frozen=True)
class LinkedRisk:
    """What the plan needs to know about a register entry."""

    title: str
    residual: int
    sections: tuple[str, ...]
    open: bool


@dataclass(frozen=True)
class PlanItem:
    """One gap, with what closing it is worth and what it takes."""

    question: Question
    answer: str
    reduction: float
    priority: float
    frameworks: int
    risks: tuple[str, ...]


def plan(
    catalogue: Catalogue, answers: Mapping[str, str], size: str, risks: Sequence[LinkedRisk]
) -> list[PlanItem]:
    """Every gap, ranked by risk reduction per unit of effort.

    Reduction is the missing share of the answer, times the question's weight
    and its insurer control's severity weight, raised by the residual scores
    of open register risks linked to its section (a 5x5 score of 25 doubles it).
    """
    weights = catalogue.grading.weights
    items: list[PlanItem] = []
    for question in catalogue.applicable(size):
        answer = answers.get(question.id, UNKNOWN)
        score = score_of(answer)
        if score is None or score >= 1.0:
            continue
        linked = [r for r in risks if r.open and question.section in r.sections]
        severity = (
            weights[catalogue.controls[question.control].severity] if question.control else 1.0
        )
        factor = 1.0 + sum(r.residual for r in linked) / 25
        reduction = (1.0 - score) * question.weight * severity * factor
        items.append(
            PlanItem(
                question=question,
                answer=answer,
                reduction=round(reduction, 3),
                priority=round(reduction / question.effort, 3),
                frameworks=sum(1 for ids in question.maps.values() if ids),
                risks=tuple(r.title for r in linked),
            )
        )
    return sorted(items, key=lambda p: (-p.priority, -p.reduction, p.question.id))


def risk_level(score: int) -> str:
    """The band of a 5x5 likelihood x impact score."""
    if score >= 20:
        return "critical"
    if score >= 10:
        return "high"
    if score >= 5:
        return "medium"
    return "low"


def heat_counts(cells: Sequence[tuple[int, int]]) -> list[list[int]]:
    """A 5x5 grid of counts: grid[likelihood-1][impact-1]."""
    grid = [[0] * 5 for _ in range(5)]
    for likelihood, impact in cells:
        if 1 <= likelihood <= 5 and 1 <= impact <= 5:
            grid[likelihood - 1][impact - 1] += 1
    return grid
