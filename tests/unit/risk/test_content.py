"""The framework, question, evidence-rule and cost data files load, cite their sources and agree."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from carewall.risk.catalogue import FRAMEWORK_FILES, SIZES, catalogue, read_data
from carewall.risk.costs import cost_model
from carewall.risk.rules import rulebook

DATA = files("carewall.risk") / "data"
REQUIRED_SECTIONS = {"mfa", "phishing", "training", "backup", "audit", "alerts"}


def test_every_data_file_loads() -> None:
    names = sorted(p.name for p in DATA.iterdir() if p.name.endswith(".yaml"))
    assert names == sorted(
        [
            *FRAMEWORK_FILES.values(),
            "insurer.yaml",
            "questions.yaml",
            "evidence.yaml",
            "breach_cost.yaml",
        ]
    )
    for name in names:
        assert isinstance(yaml.safe_load((DATA / name).read_text(encoding="utf-8")), dict), name
    book = catalogue()
    assert set(book.frameworks) == {"hicp", "cpg", "hipaa", "csf"}
    assert rulebook().rules
    assert cost_model().figures


def test_every_framework_file_cites_a_source_with_a_url_and_its_edition() -> None:
    for name in (*FRAMEWORK_FILES.values(), "insurer.yaml"):
        raw = read_data(name)
        assert raw["edition"], name
        assert raw["sources"], name
        assert any(str(s.get("url", "")).startswith("https://") for s in raw["sources"]), name


def test_the_frameworks_have_the_published_shape() -> None:
    book = catalogue()
    hicp = book.frameworks["hicp"]
    assert [t.title for t in hicp.threats][:2] == ["Social engineering", "Ransomware attack"]
    assert len(hicp.threats) == 5
    assert len(hicp.groups) == 10  # the ten practices
    assert all(hicp.items_for(size) for size in SIZES)
    cpg = book.frameworks["cpg"]
    assert sum(i.group == "essential" for i in cpg.items.values()) == 10
    assert sum(i.group == "enhanced" for i in cpg.items.values()) == 10
    hipaa = book.frameworks["hipaa"]
    assert hipaa.items["164.308(a)(1)(ii)(A)"].required is True  # risk analysis
    assert hipaa.items["164.312(a)(2)(iii)"].required is False  # automatic logoff: addressable
    assert all(i.required is not None for i in hipaa.items.values())
    csf = book.frameworks["csf"]
    assert [g.id for g in csf.groups.values()] == ["GV", "ID", "PR", "DE", "RS", "RC"]
    assert len(csf.items) == 22


def test_every_question_maps_to_at_least_one_framework_item_that_exists() -> None:
    book = catalogue()
    assert len(book.questions) > 60
    for question in book.questions.values():
        mapped = [(fid, item) for fid, ids in question.maps.items() for item in ids]
        assert mapped, question.id
        for fid, item in mapped:
            assert item in book.frameworks[fid].items, (question.id, fid, item)


@pytest.mark.parametrize("size", SIZES)
def test_every_framework_item_is_served_by_a_question_asked_of_that_size(size: str) -> None:
    book = catalogue()
    asked = book.applicable(size)
    for fid, framework in book.frameworks.items():
        served = {item for q in asked for item in q.maps.get(fid, ())}
        missing = [i.id for i in framework.items_for(size) if i.id not in served]
        assert not missing, (size, fid, missing)


def test_every_insurer_control_has_questions_and_a_severity() -> None:
    book = catalogue()
    assert {
        "mfa",
        "edr",
        "pam",
        "email",
        "patching",
        "backups",
        "ir",
        "logging",
        "training",
        "hardening",
        "eol",
        "vendor",
    } == set(book.controls)
    for control in book.controls.values():
        assert control.question_ids, control.id
        assert control.severity in {"decline", "surcharge", "considered"}
    assert [b.grade for b in book.grading.bands] == ["A", "B", "C", "D", "F"]


def test_evidence_rules_name_known_questions_and_sections_and_keep_the_required_ones() -> None:
    book = rulebook()
    required = {s.id for s in book.sections if s.required}
    assert required == REQUIRED_SECTIONS
    for rule in book.rules.values():
        assert rule.question in catalogue().questions
        assert rule.checks
        assert any(not check.info for check in rule.checks), rule.question


def test_breach_cost_figures_cite_sources_and_the_benchmarks_are_the_published_ones() -> None:
    model = cost_model()
    benchmarks = {(b.year, b.amount) for b in model.benchmarks}
    assert benchmarks == {(2023, 10_930_000), (2024, 9_770_000), (2025, 7_420_000)}
    for figure in model.figures:
        assert figure.low <= figure.mode <= figure.high, figure.key
        assert figure.source in model.sources, figure.key
    assert [t.tier for t in model.tiers] == [1, 2, 3, 4]
