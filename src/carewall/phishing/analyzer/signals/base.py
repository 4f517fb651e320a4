"""The contract every rule family follows.

A rule family is a function ``(view, context) -> iterable of Hit``. It only
says *what* it saw and *where*; the weight and the human explanation of
each id live in ``weights.json`` so they can be tuned without code changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from carewall.phishing.analyzer.models import AnalyzerContext
from carewall.phishing.analyzer.view import MessageView


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule firing: its signal id and the exact evidence."""

    id: str
    evidence: str


RuleFamily = Callable[[MessageView, AnalyzerContext], Iterable[Hit]]
