"""Lookalike domains: typos, homoglyphs, IDN tricks and brand combos.

A protected domain is one of the organisation's own domains or a known
brand's. Candidates are compared on the label left of the public suffix
(``paypa1`` in ``paypa1.co.uk``), the way dnstwist generates them:
omission, repetition, transposition, adjacent-key replacement and
insertion, hyphenation, vowel swap and ASCII homoglyphs, plus Unicode
confusables for internationalised names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from confusable_homoglyphs import confusables

from carewall.phishing.analyzer.resources import brands, generic_brand_labels
from carewall.phishing.analyzer.urls import domain_label, registered_domain

_KEYBOARD = {
    "q": "wa", "w": "qesa", "e": "wrds", "r": "etfd", "t": "rygf", "y": "tuhg", "u": "yijh",
    "i": "uokj", "o": "iplk", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx",
    "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
    "1": "2q", "2": "13w", "3": "24e", "4": "35r", "5": "46t", "6": "57y", "7": "68u",
    "8": "79i", "9": "80o", "0": "9p",
}  # fmt: skip
_ASCII_GLYPHS = {
    "a": ("4", "@"), "b": ("d", "6"), "d": ("b", "cl"), "e": ("3",), "g": ("q", "9"),
    "i": ("1", "l", "j"), "l": ("1", "i"), "m": ("rn", "nn"), "n": ("m", "r"), "o": ("0",),
    "q": ("g",), "s": ("5", "z"), "t": ("7",), "u": ("v",), "v": ("u",), "w": ("vv",),
    "z": ("2", "s"),
}  # fmt: skip
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"),
                   ("5", "s"), ("3", "e"), ("4", "a"), ("-", ""))  # fmt: skip
_VOWELS = "aeiou"
_MIN_TYPO_LEN = 5
#: Technique name of combosquatting (``paypal-secure``): weaker evidence than a typo.
COMBO_TECHNIQUE = "the name combined with other words"


@dataclass(frozen=True, slots=True)
class Lookalike:
    """A domain that imitates a protected one, and how."""

    domain: str
    imitates: str
    technique: str


def ascii_skeleton(label: str) -> str:
    """Collapse characters that look alike so ``paypa1`` and ``paypal`` compare equal."""
    text = label.lower()
    if not text.isascii():
        text = _unicode_skeleton(text)
    for old, new in _SKELETON_PAIRS:
        text = text.replace(old, new)
    return text


@lru_cache(maxsize=4096)
def _unicode_skeleton(text: str) -> str:
    """Map each non-ASCII character to a Latin look-alike when one is known."""
    out: list[str] = []
    for char in text[:128]:
        if char.isascii():
            out.append(char)
            continue
        out.append(_latin_for(char))
    return "".join(out)


@lru_cache(maxsize=2048)
def _latin_for(char: str) -> str:
    try:
        found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    except Exception:
        found = False
    if found:
        for glyph in found[0].get("homoglyphs", ()):
            candidate = str(glyph.get("c", ""))
            if candidate.isascii() and candidate.isalnum():
                return candidate.lower()
    stripped = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return stripped.lower() or char


def permutations(label: str) -> set[str]:
    """dnstwist-style variants of one label (the label itself excluded)."""
    out: set[str] = set()
    n = len(label)
    for i in range(n):
        out.add(label[:i] + label[i + 1 :])  # omission
        out.add(label[:i] + label[i] + label[i:])  # repetition
        if i < n - 1:
            out.add(label[:i] + label[i + 1] + label[i] + label[i + 2 :])  # transposition
            out.add(label[: i + 1] + "-" + label[i + 1 :])  # hyphenation
        for near in _KEYBOARD.get(label[i], ""):
            out.add(label[:i] + near + label[i + 1 :])  # replacement
            out.add(label[:i] + near + label[i:])  # insertion
        for glyph in _ASCII_GLYPHS.get(label[i], ()):
            out.add(label[:i] + glyph + label[i + 1 :])  # homoglyph
        if label[i] in _VOWELS:
            out.update(label[:i] + v + label[i + 1 :] for v in _VOWELS)  # vowel swap
    out.discard(label)
    return {p for p in out if p and not p.startswith("-") and not p.endswith("-")}


@cache
def _brand_domains() -> frozenset[str]:
    return frozenset(d for b in brands() for d in b.domains)


@lru_cache(maxsize=64)
def _variant_index(protected: frozenset[str]) -> dict[str, str]:
    """Permutation label -> protected domain, for labels long enough to be distinctive."""
    index: dict[str, str] = {}
    for domain in sorted(protected):
        label = domain_label(domain)
        if len(label) < _MIN_TYPO_LEN:
            continue
        for variant in permutations(label):
            index.setdefault(variant, domain)
    return index


@lru_cache(maxsize=64)
def _skeleton_index(protected: frozenset[str]) -> dict[str, str]:
    index: dict[str, str] = {}
    for domain in sorted(protected):
        if domain_label(domain):
            index.setdefault(ascii_skeleton(domain_label(domain)), domain)
    return index


def find_lookalike(host: str, org_domains: Iterable[str] = ()) -> Lookalike | None:
    """Whether ``host`` imitates an organisation or brand domain it is not."""
    return _find_lookalike(host.lower(), frozenset(org_domains))


@lru_cache(maxsize=8192)
def _find_lookalike(host: str, org: frozenset[str]) -> Lookalike | None:
    protected = org | _brand_domains()
    reg = registered_domain(host)
    if not reg or reg in protected or "." not in reg:
        return None
    label = domain_label(host)
    unicode_label = _decode_idn(label)
    if unicode_label != label:
        target = _skeleton_index(protected).get(ascii_skeleton(unicode_label))
        if target:
            return Lookalike(reg, target, "internationalised name with look-alike characters")
    if len(label) < 4:
        return None
    target = _skeleton_index(protected).get(ascii_skeleton(label))
    if target and domain_label(target) != label:
        return Lookalike(reg, target, "characters that look alike")
    target = _variant_index(protected).get(label)
    if target:
        return Lookalike(reg, target, "a one-character typo")
    return _combo(reg, label, org)


@lru_cache(maxsize=64)
def _combo_targets(org: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(label, domain) pairs distinctive enough to look for inside other names."""
    generic = generic_brand_labels()
    pairs = ((domain_label(d), d) for d in sorted(org | _brand_domains()))
    return tuple((lab, d) for lab, d in pairs if len(lab) >= _MIN_TYPO_LEN and lab not in generic)


def _combo(reg: str, label: str, org: frozenset[str]) -> Lookalike | None:
    """Brand or organisation name joined with other words (``paypal-secure``)."""
    parts = label.split("-")
    for target_label, domain in _combo_targets(org):
        if target_label == label:
            if domain in org:
                return Lookalike(reg, domain, "the organisation's name under another suffix")
            continue
        if target_label in parts or (len(target_label) >= 6 and target_label in label):
            return Lookalike(reg, domain, COMBO_TECHNIQUE)
    return None


def _decode_idn(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except Exception:
        return label
