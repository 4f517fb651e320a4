"""The frameworks and the question bank, loaded from the data files shipped in the package.

Content lives in `risk/data/*.yaml` (our own wording, sources cited in each
file); this module turns it into frozen objects and refuses a file that does
not hang together: a question that maps to no framework item, an item id that
does not exist, an unknown size. `catalogue()` loads once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from carewall.core.errors import NotFoundError
from carewall.risk.errors import ContentError

SIZES = ("small", "medium", "large")
FRAMEWORK_FILES = {
    "hicp": "hicp.yaml",
    "cpg": "hph_cpg.yaml",
    "hipaa": "hipaa.yaml",
    "csf": "nist_csf.yaml",
}
SEVERITIES = ("decline", "surcharge", "considered")
EFFORTS = {1: "low", 2: "medium", 3: "high"}


@dataclass(frozen=True)
class Source:
    """A publication a data file cites."""

    title: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Group:
    """A heading of a framework (a HICP practice, a HIPAA standard, a CSF function); not scored."""

    id: str
    title: str
    parent: str | None = None
    description: str = ""
    activities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """A scored element of a framework: a sub-practice, goal, specification or category."""

    id: str
    title: str
    group: str
    description: str = ""
    size: str | None = None  # HICP only
    required: bool | None = None  # HIPAA only: required (True) or addressable (False)
    verify: bool = False  # recalled offline; check against the source
    crosswalk: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class StarterRisk:
    """A risk-register entry a HICP threat suggests."""

    asset: str
    vulnerability: str
    likelihood: int
    impact: int


@dataclass(frozen=True)
class Threat:
    """One of HICP's five threats, with the practices that mitigate it."""

    id: str
    title: str
    summary: str
    practices: tuple[str, ...]
    starter_risk: StarterRisk


@dataclass(frozen=True)
class Framework:
    """One framework file: its citation, headings and scored items."""

    id: str
    title: str
    short: str
    edition: str
    publisher: str
    sources: tuple[Source, ...]
    wording: str
    scoring: str
    groups: Mapping[str, Group]
    items: Mapping[str, Item]
    threats: tuple[Threat, ...] = ()

    def items_for(self, size: str) -> list[Item]:
        """The items an organisation of `size` is measured against (HICP sizes; others: all)."""
        if self.id != "hicp":
            return list(self.items.values())
        wanted = {"small": {"small"}, "medium": {"medium"}, "large": {"medium", "large"}}[size]
        return [item for item in self.items.values() if item.size in wanted]

    def top_group(self, item: Item) -> Group:
        """The outermost heading above an item (CSF function, HIPAA safeguard, HICP practice)."""
        group = self.groups[item.group]
        while group.parent is not None:
            group = self.groups[group.parent]
        return group


@dataclass(frozen=True)
class Question:
    """A question of the assessment and the framework items its answer serves."""

    id: str
    section: str
    text: str
    maps: Mapping[str, tuple[str, ...]]
    effort: int
    remedy: str
    help: str = ""
    weight: float = 1.0
    sizes: frozenset[str] = frozenset(SIZES)
    control: str | None = None

    def applies_to(self, size: str) -> bool:
        """Whether an organisation of `size` is asked this question."""
        return size in self.sizes

    @property
    def effort_label(self) -> str:
        """Low, medium or high."""
        return EFFORTS[self.effort]


@dataclass(frozen=True)
class Control:
    """An insurer key control: how decisive its absence is, and its questions."""

    id: str
    title: str
    severity: str
    why: str
    question_ids: tuple[str, ...]
    short: str = ""

    @property
    def consequence(self) -> str:
        """What its absence typically leads to, in the report's words."""
        return {
            "decline": "typically leads to a declined application or no ransomware cover",
            "surcharge": "typically leads to a surcharge, a sublimit or an exclusion",
            "considered": "weighed by underwriters, rarely decisive alone",
        }[self.severity]

    @property
    def short_consequence(self) -> str:
        """The consequence in three words, for the board page."""
        return {
            "decline": "risks a decline",
            "surcharge": "risks a surcharge",
            "considered": "weighed by underwriters",
        }[self.severity]


@dataclass(frozen=True)
class Section:
    """A page of the assessment: an insurer control's questions or another topic."""

    id: str
    title: str
    why: str
    question_ids: tuple[str, ...]
    control: str | None = None


@dataclass(frozen=True)
class GradeBand:
    """One letter of the insurance-readiness grade and what it takes."""

    grade: str
    min_readiness: float
    decline_floor: float
    meaning: str


@dataclass(frozen=True)
class Grading:
    """How controls are weighed into readiness and a grade."""

    weights: Mapping[str, float]
    gap_below: float
    bands: tuple[GradeBand, ...]


@dataclass(frozen=True)
class Catalogue:
    """Everything the assessment asks and measures against."""

    frameworks: Mapping[str, Framework]
    controls: Mapping[str, Control]
    sections: tuple[Section, ...]
    questions: Mapping[str, Question]
    grading: Grading
    insurer_sources: tuple[Source, ...]
    insurer_edition: str

    def section(self, section_id: str) -> Section:
        """A section by id, or ContentError."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise NotFoundError("There is no such assessment section.")

    def questions_in(self, section: Section, size: str) -> list[Question]:
        """The questions of a section an organisation of `size` is asked."""
        return [
            self.questions[q] for q in section.question_ids if self.questions[q].applies_to(size)
        ]

    def applicable(self, size: str) -> list[Question]:
        """Every question an organisation of `size` is asked, in page order."""
        return [q for s in self.sections for q in self.questions_in(s, size)]


def read_data(name: str) -> Any:
    """Parse one YAML file of `risk/data` (safe loader: data only)."""
    path = files("carewall.risk") / "data" / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"Cannot read risk data file {name}: {exc}") from exc


@cache
def catalogue() -> Catalogue:
    """Load and check every framework and question file (once per process)."""
    frameworks = {key: _framework(read_data(name)) for key, name in FRAMEWORK_FILES.items()}
    insurer, others = read_data("insurer.yaml"), read_data("questions.yaml")
    controls, sections, questions = _insurer(insurer)
    more_sections, more_questions = _sections(others["sections"], control=None)
    sections += more_sections
    for question in more_questions:
        if question.id in questions:
            raise ContentError(f"Question id {question.id!r} is used twice.")
        questions[question.id] = question
    built = Catalogue(
        frameworks=frameworks,
        controls=controls,
        sections=tuple(sections),
        questions=questions,
        grading=_grading(insurer["grading"]),
        insurer_sources=tuple(_source(s) for s in insurer.get("sources", ())),
        insurer_edition=str(insurer.get("edition", "")),
    )
    check_references(built)
    return built


def _source(raw: Mapping[str, Any]) -> Source:
    return Source(str(raw["title"]), str(raw.get("url") or ""), str(raw.get("note") or ""))


def _framework(raw: Mapping[str, Any]) -> Framework:
    groups = {str(g["id"]): _group(g) for g in raw["groups"]}
    items: dict[str, Item] = {}
    for entry in raw["items"]:
        item = _item(entry)
        if item.id in items or item.id in groups:
            raise ContentError(f"{raw['id']}: id {item.id!r} is used twice.")
        if item.group not in groups:
            raise ContentError(f"{raw['id']}: item {item.id} names unknown group {item.group!r}.")
        if item.size is not None and item.size not in SIZES:
            raise ContentError(f"{raw['id']}: item {item.id} has unknown size {item.size!r}.")
        items[item.id] = item
    for group in groups.values():
        if group.parent is not None and group.parent not in groups:
            raise ContentError(f"{raw['id']}: group {group.id} names unknown parent.")
    return Framework(
        id=str(raw["id"]),
        title=str(raw["title"]),
        short=str(raw["short"]),
        edition=str(raw["edition"]),
        publisher=str(raw.get("publisher", "")),
        sources=tuple(_source(s) for s in raw["sources"]),
        wording=str(raw.get("wording", "")),
        scoring=str(raw.get("scoring", "")),
        groups=groups,
        items=items,
        threats=tuple(_threat(t) for t in raw.get("threats", ())),
    )


def _group(raw: Mapping[str, Any]) -> Group:
    parent = raw.get("parent")
    return Group(
        id=str(raw["id"]),
        title=str(raw["title"]),
        parent=None if parent is None else str(parent),
        description=str(raw.get("description", "")),
        activities=tuple(str(a) for a in raw.get("activities", ())),
    )


def _item(raw: Mapping[str, Any]) -> Item:
    crosswalk = {k: tuple(str(v) for v in vs) for k, vs in (raw.get("crosswalk") or {}).items()}
    required = raw.get("required")
    return Item(
        id=str(raw["id"]),
        title=str(raw["title"]),
        group=str(raw["group"]),
        description=str(raw.get("description", "")),
        size=raw.get("size"),
        required=None if required is None else bool(required),
        verify=bool(raw.get("verify", False)),
        crosswalk=crosswalk,
    )


def _threat(raw: Mapping[str, Any]) -> Threat:
    starter = raw["starter_risk"]
    return Threat(
        id=str(raw["id"]),
        title=str(raw["title"]),
        summary=str(raw["summary"]),
        practices=tuple(str(p) for p in raw["practices"]),
        starter_risk=StarterRisk(
            asset=str(starter["asset"]),
            vulnerability=str(starter["vulnerability"]),
            likelihood=int(starter["likelihood"]),
            impact=int(starter["impact"]),
        ),
    )


def _insurer(
    raw: Mapping[str, Any],
) -> tuple[dict[str, Control], list[Section], dict[str, Question]]:
    controls: dict[str, Control] = {}
    sections: list[Section] = []
    questions: dict[str, Question] = {}
    for entry in raw["controls"]:
        severity = str(entry["severity"])
        if severity not in SEVERITIES:
            raise ContentError(f"Control {entry['id']} has unknown severity {severity!r}.")
        built, found = _sections([{**entry, "why": entry["why"]}], control=str(entry["id"]))
        section = built[0]
        controls[section.id] = Control(
            section.id,
            section.title,
            severity,
            section.why,
            section.question_ids,
            short=str(entry.get("short") or section.title),
        )
        sections.append(section)
        for question in found:
            if question.id in questions:
                raise ContentError(f"Question id {question.id!r} is used twice.")
            questions[question.id] = question
    return controls, sections, questions


def _sections(
    raw: list[Mapping[str, Any]], *, control: str | None
) -> tuple[list[Section], list[Question]]:
    sections: list[Section] = []
    questions: list[Question] = []
    for entry in raw:
        section_id = str(entry["id"])
        found = [_question(q, section_id, control) for q in entry["questions"]]
        sections.append(
            Section(
                id=section_id,
                title=str(entry["title"]),
                why=str(entry.get("why", "")),
                question_ids=tuple(q.id for q in found),
                control=control,
            )
        )
        questions.extend(found)
    return sections, questions


def _question(raw: Mapping[str, Any], section: str, control: str | None) -> Question:
    sizes = frozenset(str(s) for s in raw.get("sizes", SIZES))
    effort = int(raw["effort"])
    if not sizes <= set(SIZES) or not sizes:
        raise ContentError(f"Question {raw['id']} has unknown sizes {sorted(sizes)}.")
    if effort not in EFFORTS:
        raise ContentError(f"Question {raw['id']} has effort {effort}; use 1, 2 or 3.")
    maps = {str(k): tuple(str(v) for v in vs) for k, vs in (raw.get("maps") or {}).items()}
    return Question(
        id=str(raw["id"]),
        section=section,
        text=str(raw["text"]),
        maps=maps,
        effort=effort,
        remedy=str(raw["remedy"]),
        help=str(raw.get("help", "")),
        weight=float(raw.get("weight", 1.0)),
        sizes=sizes,
        control=control,
    )


def _grading(raw: Mapping[str, Any]) -> Grading:
    bands = tuple(
        GradeBand(
            grade=str(b["grade"]),
            min_readiness=float(b["min_readiness"]),
            decline_floor=float(b["decline_floor"]),
            meaning=str(b["meaning"]),
        )
        for b in raw["grades"]
    )
    weights = {str(k): float(v) for k, v in raw["weights"].items()}
    if set(weights) != set(SEVERITIES):
        raise ContentError("Grading weights must name decline, surcharge and considered.")
    return Grading(weights=weights, gap_below=float(raw["gap_below"]), bands=bands)


def check_references(built: Catalogue) -> None:
    """Every question maps to at least one item, and every id it names exists."""
    for question in built.questions.values():
        if not any(question.maps.values()):
            raise ContentError(f"Question {question.id} maps to no framework item.")
        for framework_id, item_ids in question.maps.items():
            framework = built.frameworks.get(framework_id)
            if framework is None:
                raise ContentError(f"Question {question.id} names framework {framework_id!r}.")
            missing = [i for i in item_ids if i not in framework.items]
            if missing:
                raise ContentError(f"Question {question.id}: no {framework_id} item {missing}.")
    for framework in built.frameworks.values():
        for item in framework.items.values():
            for target, ids in item.crosswalk.items():
                known = built.frameworks[target]
                unknown = [i for i in ids if i not in known.items and i not in known.groups]
                if unknown:
                    raise ContentError(f"{framework.id} {item.id}: crosswalk names {unknown}.")
        for threat in framework.threats:
            if not set(threat.practices) <= set(framework.groups):
                raise ContentError(f"Threat {threat.id} names an unknown practice.")
