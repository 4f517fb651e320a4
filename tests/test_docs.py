"""Docs that stay true: every setting and every audit tag is documented."""

from __future__ import annotations

import importlib
import pkgutil
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
