"""Turning measured figures into answers, as `data/evidence.yaml` says.

The mapping is data: which evidence field answers which question, the rule
that turns the figure into yes, partial or no, and how the figure reads
("4 of 5 (80%)"). A provider that lands later needs a rule in the file, not
code here. A section that was never measured gives no answer (a person
answers), never a guessed one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from carewall.risk.catalogue import catalogue, read_data
from carewall.risk.errors import ContentError

YES, PARTIAL, NO, NA, UNKNOWN = "yes", "partial", "no", "na", "unknown"
ANSWERS = (YES, PARTIAL, NO, NA)
SCORES = {YES: 1.0, PARTIAL: 0.5, NO: 0.0}
_RANK = {NO: 0, PARTIAL: 1, YES: 2}
_KINDS = ("ratio", "value", "age", "flag")
_OPERATORS = ("at_least", "at_most", "above", "below", "equals", "is")


@dataclass(frozen=True)
class SectionSpec:
    """An evidence section the report knows: its title, where it comes from, whether required."""

    id: str
    title: str
    link: str
    required: bool = False


@dataclass(frozen=True)
class Condition:
    """One comparison of a measured value with a threshold."""

    operator: str
    threshold: Any

    def holds(self, value: float | bool) -> bool:
        """Whether `value` meets the condition."""
        if self.operator == "is":
            return bool(value) is bool(self.threshold)
        number, limit = float(value), float(self.threshold)
        return {
            "at_least": number >= limit,
            "at_most": number <= limit,
            "above": number > limit,
            "below": number < limit,
            "equals": math.isclose(number, limit),
        }[self.operator]


@dataclass(frozen=True)
class Check:
    """One figure and how it decides (or only informs) a question's answer."""

    section: str
    label: str
    kind: str
    fields: tuple[str, ...]
    unit: str = ""
    yes_if: Condition | None = None
    partial_if: Condition | None = None
    otherwise: str = NO
    empty: str = UNKNOWN
    missing: str = UNKNOWN
    info: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """The checks that answer one question, and what Carewall's measurement covers."""

    question: str
    scope: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class RuleBook:
    """Every evidence section and rule."""

    sections: tuple[SectionSpec, ...]
    rules: Mapping[str, Rule]

    def spec(self, section_id: str) -> SectionSpec | None:
        """The section's description, if the rule book knows it."""
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True)
class Measured:
    """One check evaluated: the figure as people read it, and what it says."""

    section: str
    label: str
    figure: str
    answer: str
    info: bool
    as_of: str | None
    link: str


@dataclass(frozen=True)
class AutoAnswer:
    """A question answered from evidence: the answer, the figures behind it and their dates."""

    question: str
    answer: str
    scope: str
    measured: tuple[Measured, ...]
    as_of: str | None
    stale: bool

    @property
    def answered(self) -> bool:
        """Whether the evidence decides the question (otherwise a person answers)."""
        return self.answer != UNKNOWN

    def as_json(self) -> dict[str, Any]:
        """The auto answer as stored in snapshots and shown in the report."""
        return {
            "answer": self.answer,
            "scope": self.scope,
            "as_of": self.as_of,
            "stale": self.stale,
            "measured": [vars(m) for m in self.measured],
        }


@cache
def rulebook() -> RuleBook:
    """Load `evidence.yaml` once, checking every rule names a known question and section."""
    raw = read_data("evidence.yaml")
    sections = tuple(
        SectionSpec(str(s["id"]), str(s["title"]), str(s["link"]), bool(s.get("required", False)))
        for s in raw["sections"]
    )
    known = {s.id for s in sections}
    questions = catalogue().questions
    rules: dict[str, Rule] = {}
    for entry in raw["rules"]:
        rule = Rule(
            question=str(entry["question"]),
            scope=str(entry.get("scope", "")),
            checks=tuple(_check(c) for c in entry["checks"]),
        )
        if rule.question not in questions or rule.question in rules:
            raise ContentError(f"Evidence rule for unknown or repeated question {rule.question}.")
        if any(check.section not in known for check in rule.checks):
            raise ContentError(f"Evidence rule {rule.question} names an unknown section.")
        rules[rule.question] = rule
    return RuleBook(sections=sections, rules=rules)


def _check(raw: Mapping[str, Any]) -> Check:
    kinds = [kind for kind in _KINDS if kind in raw]
    if len(kinds) != 1:
        raise ContentError(f"Evidence check {raw.get('label')!r} needs exactly one of {_KINDS}.")
    kind = kinds[0]
    target = raw[kind]
    fields = tuple(str(f) for f in target) if isinstance(target, list) else (str(target),)
    if (kind == "ratio") != (len(fields) == 2):
        raise ContentError(f"Evidence check {raw.get('label')!r}: a ratio names two fields.")
    return Check(
        section=str(raw["section"]),
        label=str(raw["label"]),
        kind=kind,
        fields=fields,
        unit=str(raw.get("unit", "")),
        yes_if=_condition(raw.get("yes_if")),
        partial_if=_condition(raw.get("partial_if")),
        otherwise=_answer(raw.get("otherwise", NO)),
        empty=_answer(raw.get("empty", UNKNOWN)),
        missing=_answer(raw.get("missing", UNKNOWN)),
        info=bool(raw.get("info", False)),
        labels={str(k).lower(): str(v) for k, v in (raw.get("labels") or {}).items()},
    )


def _condition(raw: Mapping[str, Any] | None) -> Condition | None:
    if raw is None:
        return None
    if len(raw) != 1 or next(iter(raw)) not in _OPERATORS:
        raise ContentError(f"An evidence condition needs one of {_OPERATORS}, not {dict(raw)}.")
    operator, threshold = next(iter(raw.items()))
    return Condition(str(operator), threshold)


def _answer(value: object) -> str:
    # YAML 1.1 reads a bare `no` as False: insist on quoted strings.
    if not isinstance(value, str) or value not in (*ANSWERS, UNKNOWN):
        raise ContentError(f"Evidence answer {value!r} must be a quoted yes/partial/no/na/unknown.")
    return value


def lookup(section: Mapping[str, Any], path: str) -> Any:
    """A dotted field of a section (`open_by_severity.high`), None when absent."""
    value: Any = section
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def evaluate(
    rule: Rule,
    sections: Mapping[str, Mapping[str, Any]],
    now: datetime,
    stale: Mapping[str, bool],
) -> AutoAnswer:
    """Answer `rule`'s question from the evidence sections measured at or before `now`."""
    specs = rulebook()
    measured = tuple(
        _measure(check, sections.get(check.section) or {}, now, _link(specs, check.section))
        for check in rule.checks
    )
    deciding = [m for m in measured if not m.info]
    dates = [m.as_of for m in deciding if m.as_of]
    return AutoAnswer(
        question=rule.question,
        answer=combine([m.answer for m in deciding]),
        scope=rule.scope,
        measured=measured,
        as_of=min(dates) if dates else None,
        stale=any(stale.get(m.section, False) for m in deciding),
    )


def _link(book: RuleBook, section_id: str) -> str:
    spec = book.spec(section_id)
    return spec.link if spec else ""


def combine(answers: list[str]) -> str:
    """The worst of several answers: unknown wins, na only when all are na."""
    if not answers or UNKNOWN in answers:
        return UNKNOWN
    decided = [a for a in answers if a != NA]
    if not decided:
        return NA
    return min(decided, key=lambda a: _RANK[a])


def _measure(check: Check, section: Mapping[str, Any], now: datetime, link: str) -> Measured:
    as_of = section.get("as_of")
    as_of_text = str(as_of) if as_of else None
    if not as_of:
        figure, answer = "not measured yet", UNKNOWN
    else:
        values = [lookup(section, f) for f in check.fields]
        read = _read(check, values, now) if _usable(check.kind, values) else None
        figure, answer = read or ("not recorded", check.missing)
    return Measured(check.section, check.label, figure, answer, check.info, as_of_text, link)


def _usable(kind: str, values: list[Any]) -> bool:
    if any(v is None for v in values):
        return False
    if kind in ("ratio", "value"):
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if kind == "flag":
        return isinstance(values[0], bool)
    return isinstance(values[0], str | datetime)


def _read(check: Check, values: list[Any], now: datetime) -> tuple[str, str] | None:
    """The figure as people read it and the answer it gives (None: not a usable figure)."""
    if check.kind == "ratio":
        numerator, denominator = (float(v) for v in values)
        figure = ratio_figure(numerator, denominator)
        if denominator <= 0:
            return figure, check.empty
        return figure, _decide(check, numerator / denominator)
    if check.kind == "age":
        days, figure = _age(values[0], now)
        return None if days is None else (figure, _decide(check, days))
    if check.kind == "flag":
        flag = bool(values[0])
        return check.labels.get(str(flag).lower(), "yes" if flag else "no"), _decide(check, flag)
    number = float(values[0])
    return format_value(number, check.unit), _decide(check, number)


def ratio_figure(numerator: float, denominator: float) -> str:
    """Coverage as the report shows it: "N of M (P%)"."""
    n, m = _num(numerator), _num(denominator)
    if denominator <= 0:
        return f"{n} of {m}"
    return f"{n} of {m} ({round(100 * numerator / denominator)}%)"


def format_value(number: float, unit: str) -> str:
    """A measured number with its unit ("15 minutes", "85%")."""
    text = _num(number)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _num(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:.1f}"


def _age(value: Any, now: datetime) -> tuple[float | None, str]:
    when = value if isinstance(value, datetime) else parse_time(str(value))
    if when is None:
        return None, ""
    days = max((now - when).total_seconds() / 86400, 0.0)
    whole = int(days)
    ago = "today" if whole == 0 else ("1 day ago" if whole == 1 else f"{whole} days ago")
    return days, f"{ago} ({when:%Y-%m-%d})"


def parse_time(text: str) -> datetime | None:
    """An aware datetime from ISO-8601 text (a date, or a time without a zone, is UTC:
    evidence is measured in UTC), or None when it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _decide(check: Check, value: float | bool) -> str:
    if check.info:
        return NA
    if check.yes_if is not None and check.yes_if.holds(value):
        return YES
    if check.partial_if is not None and check.partial_if.holds(value):
        return PARTIAL
    return check.otherwise
