"""Docs that stay true: every setting and audit tag is documented, every promise tested."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from enum import StrEnum
from pathlib import Path

import carewall
from carewall.core.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def all_audit_tags() -> set[str]:
    """Every value of every StrEnum declared in a `tags` module of any domain."""
    tags: set[str] = set()
    for module_info in pkgutil.walk_packages(carewall.__path__, "carewall."):
        if module_info.name.rsplit(".", 1)[-1] != "tags":
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                tags.update(member.value for member in value)
    return tags


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [
        f"CAREWALL_{name.upper()}"
        for name in Settings.model_fields
        if f"`CAREWALL_{name.upper()}`" not in text
    ]
    assert not missing, f"add to docs/settings.md: {missing}"


def test_every_audit_tag_is_documented() -> None:
    text = (DOCS / "audit-events.md").read_text(encoding="utf-8")
    tags = all_audit_tags()
    assert tags, "no audit tags found"
    missing = sorted(tag for tag in tags if f"`{tag}`" not in text)
    assert not missing, f"add to docs/audit-events.md: {missing}"


_TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _threat_model() -> str:
    return (DOCS / "threat-model.md").read_text(encoding="utf-8")


def _defines(path: Path, name: str) -> bool:
    """Whether the test module at `path` defines the test function `name`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        for node in tree.body
    )


def test_every_test_the_threat_model_names_exists() -> None:
    text = _threat_model()
    refs = _TEST_REF.findall(text)
    assert len(refs) >= 50, "the threat model names the tests behind its promises"
    root = DOCS.parent
    missing = [
        f"{path}::{name}"
        for path, name in refs
        if not (root / path).is_file() or not _defines(root / path, name)
    ]
    assert not missing, f"docs/threat-model.md names tests that do not exist: {missing}"


def test_every_promise_in_the_threat_model_names_a_test() -> None:
    promises = _threat_model()
    in_table = False
    unproved = []
    for line in promises.splitlines():
        if line.startswith("| Promise | Proved by |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if len(cells) != 2 or not _TEST_REF.search(cells[1]):
                unproved.append(cells[0])
    assert not unproved, f"promises without a test: {unproved}"
    for section in ("outsider", "insider", "patient", "database file", "host"):
        assert re.search(rf"### \d\. Against .*{section}", promises), section
