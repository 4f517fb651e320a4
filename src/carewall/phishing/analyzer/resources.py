"""Data files shipped with the analyzer, loaded and compiled once per process.

Lists and weights live in ``data/`` so they can be reviewed and changed
without touching code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

_DATA = "carewall.phishing.analyzer.data"


def _load(name: str) -> dict[str, Any]:
    text = resources.files(_DATA).joinpath(name).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand that is often impersonated and the domains it really uses."""

    names: tuple[str, ...]
    domains: frozenset[str]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """Weight and human explanation of one signal id."""

    weight: float
    explanation: str


@cache
def brands() -> tuple[Brand, ...]:
    """Every brand from ``brands.json``."""
    data = _load("brands.json")
    return tuple(
        Brand(names=tuple(b["names"]), domains=frozenset(b["domains"])) for b in data["brands"]
    )


@cache
def generic_brand_labels() -> frozenset[str]:
    """Brand labels that are also ordinary words, never matched inside other names."""
    return frozenset(_load("brands.json")["generic_labels"])


@cache
def ambiguous_brand_names() -> frozenset[str]:
    """Brand names that are also people's names or words; they need a service word."""
    return frozenset(n.lower() for n in _load("brands.json")["ambiguous_names"])


@cache
def service_list(name: str) -> frozenset[str]:
    """A list from ``services.json`` (freemail, shorteners, hosted_content, ...)."""
    return frozenset(_load("services.json")[name])


@cache
def file_types(name: str) -> frozenset[str]:
    """A list of extensions from ``files.json``."""
    return frozenset(_load("files.json")[name])


#: Words as the phrase matcher sees them: letters/digits, inner hyphens and apostrophes kept.
_TOKEN = re.compile(r"\w+(?:['-]\w+)*")
#: First word -> (the phrase's words, its family); built once from ``lexicon.json``.
PhraseIndex = dict[str, tuple[tuple[tuple[str, ...], str], ...]]


def tokenize(text: str) -> list[str]:
    """Lower-case words; typographic apostrophes folded to ASCII."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


@cache
def lexicon() -> PhraseIndex:
    """Every phrase of every lure family, indexed by its first word.

    Matching walks the text's words once and compares only the phrases
    that start with each word: linear in the text, whatever the list size.
    """
    data = _load("lexicon.json")
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for family, phrases in data.items():
        if family.startswith("_"):
            continue
        for phrase in phrases:
            words = tuple(tokenize(phrase))
            if words:
                index.setdefault(words[0], []).append((words, family))
    return {first: tuple(entries) for first, entries in index.items()}


def find_phrases(text: str, limit: int = 3) -> dict[str, list[str]]:
    """Family -> up to ``limit`` distinct phrases of that family found in ``text``."""
    index = lexicon()
    words = tokenize(text)
    found: dict[str, list[str]] = {}
    for i, word in enumerate(words):
        for phrase, family in index.get(word, ()):
            if tuple(words[i : i + len(phrase)]) != phrase:
                continue
            seen = found.setdefault(family, [])
            text_form = " ".join(phrase)
            if len(seen) < limit and text_form not in seen:
                seen.append(text_form)
    return found


@cache
def rule_specs() -> dict[str, RuleSpec]:
    """Weight and explanation of every signal id, from ``weights.json``."""
    data = _load("weights.json")
    return {
        key: RuleSpec(weight=float(v["weight"]), explanation=str(v["explanation"]))
        for key, v in data["signals"].items()
    }


def host_in(host: str, domains: frozenset[str]) -> str | None:
    """The entry of ``domains`` that ``host`` equals or is a subdomain of."""
    labels = host.lower().strip(".").split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in domains:
            return candidate
    return None
