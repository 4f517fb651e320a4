"""Training modules: Markdown files with YAML front matter, shipped in `training/library/`.

A module file carries its lesson as Markdown and its quiz bank in the front
matter (questions, choices, the right answer and why). Each quiz attempt
draws `quiz_size` questions from the bank, so a retry is not the same test.
Files are checked when loaded: a broken module fails at start-up, not in
front of a learner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from markdown_it import MarkdownIt

from carewall.core.errors import NotFoundError

_PACKAGE = "carewall.training.library"


@dataclass(frozen=True, slots=True)
class Question:
    """One quiz question: the right choice is `choices[answer]`."""

    id: str
    text: str
    choices: tuple[str, ...]
    answer: int
    why: str


@dataclass(frozen=True, slots=True)
class Module:
    """A training module as learners see it and the quiz that closes it."""

    id: str
    title: str
    summary: str
    minutes: int
    pass_mark: int
    attempts: int
    quiz_size: int
    questions: tuple[Question, ...]
    html: str

    def question(self, question_id: str) -> Question:
        """The bank's question with this id (KeyError when unknown)."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


def _split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        raise ValueError(f"{name}: a module starts with '---' front matter")
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        raise ValueError(f"{name}: the front matter is not closed with '---'")
    meta = yaml.safe_load(head)
    if not isinstance(meta, dict):
        raise ValueError(f"{name}: the front matter is not a mapping")
    return meta, body


def _question(raw: dict[str, Any], name: str) -> Question:
    choices = tuple(str(c) for c in raw["choices"])
    answer = int(raw["answer"])
    if not 0 <= answer < len(choices) or len(choices) < 2:
        raise ValueError(f"{name}: question {raw.get('id')} has no valid answer")
    return Question(str(raw["id"]), str(raw["text"]), choices, answer, str(raw["why"]))


def parse_module(text: str, name: str) -> Module:
    """A module from its file's text (ValueError says what is wrong)."""
    meta, body = _split_front_matter(text, name)
    questions = tuple(_question(q, name) for q in meta["questions"])
    if len({q.id for q in questions}) != len(questions):
        raise ValueError(f"{name}: question ids repeat")
    quiz_size = int(meta.get("quiz_size", 5))
    if quiz_size > len(questions):
        raise ValueError(f"{name}: quiz_size is larger than the bank")
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Module(
        id=str(meta["id"]),
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        minutes=int(meta["minutes"]),
        pass_mark=int(meta.get("pass_mark", 80)),
        attempts=int(meta.get("attempts", 3)),
        quiz_size=quiz_size,
        questions=questions,
        html=renderer.render(body),
    )


@cache
def modules() -> dict[str, Module]:
    """Every shipped module by id, in file-name order."""
    found: dict[str, Module] = {}
    for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".md") and not entry.name.startswith("_"):
            module = parse_module(entry.read_text(encoding="utf-8"), entry.name)
            found[module.id] = module
    return found


def module(module_id: str) -> Module:
    """The module with this id, or NotFoundError."""
    try:
        return modules()[module_id]
    except KeyError:
        known = ", ".join(modules())
        raise NotFoundError(
            f"No training module is called {module_id!r}. Modules: {known}."
        ) from None
