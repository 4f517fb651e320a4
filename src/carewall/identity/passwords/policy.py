"""Which passwords we accept, and what we tell people while they choose one.

The rules follow NIST SP 800-63B (5.1.1.2) and OWASP ASVS L2 (2.1): a
minimum length, a generous maximum, no composition rules ("one capital, one
digit..."), no forced rotation, and refusal of passwords that are common,
breached, built from the user's own details, or easy to guess. Composition
rules are absent on purpose: they push people towards "Summer2024!", which
every cracking list already tries.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Final

from zxcvbn import zxcvbn

from carewall.identity.passwords.common import is_common_password
from carewall.identity.passwords.normalize import normalize_password

ABSOLUTE_MIN_LENGTH: Final = 8
"""No configuration may go below NIST's floor of 8 characters; lower values are raised to it."""

ABSOLUTE_MAX_LENGTH_FLOOR: Final = 64
"""NIST requires accepting at least 64 characters; lower maximums are raised to it."""

DEFAULT_MIN_LENGTH: Final = 12
"""Our default: NIST's 8 is a floor, and 12 code points resists offline guessing far better."""

DEFAULT_MAX_LENGTH: Final = 128

MIN_ZXCVBN_SCORE: Final = 3
"""zxcvbn's "safely unguessable" band: about 10^8 guesses or more (ASVS 2.1.8 meter)."""

# zxcvbn's matching cost grows quickly with length, and zxcvbn 4.5 refuses
# input longer than 72 characters unless told otherwise. A passphrase whose
# first 72 characters are weak is weak, so we score only that prefix.
_ZXCVBN_MAX_CHARS: Final = 72

# zxcvbn stores each call's user_inputs in a module-level dict before
# matching, so two threads scoring at once could see each other's inputs.
_ZXCVBN_LOCK: Final = threading.Lock()

# Personal details shorter than this ("jo@...") would match too many passwords.
_MIN_PERSONAL_LENGTH: Final = 3

_WORDS_TIP: Final = "Four or five unrelated words, with spaces if you like, work well."


@dataclass(frozen=True, slots=True)
class PasswordProblem:
    """One reason a password was refused, with a message fit to show the user."""

    code: str
    message: str


def _squeeze(text: str) -> str:
    """Lowercase and drop whitespace, for "contains" checks that ignore spacing."""
    return "".join(normalize_password(text).lower().split())


def _personal_inputs(email: str, practice_name: str) -> list[str]:
    """Email and practice-name pieces that zxcvbn should treat as easy guesses."""
    local, _, domain = email.partition("@")
    pieces = [email, local, *re.split(r"[._+\-]", local), domain.split(".")[0]]
    pieces += [practice_name, *practice_name.split()]
    return [p for p in (normalize_password(p).lower().strip() for p in pieces) if p]


def _length_problems(length: int, min_length: int, max_length: int) -> list[PasswordProblem]:
    if length < min_length:
        return [
            PasswordProblem(
                "too_short",
                f"Use at least {min_length} characters (this has {length}). "
                f"A longer passphrase is easier to remember than a complex word. "
                f"{_WORDS_TIP}",
            )
        ]
    if length > max_length:
        return [
            PasswordProblem(
                "too_long",
                f"Use at most {max_length} characters (this has {length}). "
                "A passphrase of a few words is plenty.",
            )
        ]
    return []


def _personal_problems(squeezed: str, email: str, practice_name: str) -> list[PasswordProblem]:
    problems = []
    email_parts = {_squeeze(email), _squeeze(email.partition("@")[0])}
    if any(len(p) >= _MIN_PERSONAL_LENGTH and p in squeezed for p in email_parts):
        problems.append(
            PasswordProblem(
                "contains_email",
                "Don't use your email address or its name part in your password: "
                f"it is the first thing an attacker tries. {_WORDS_TIP}",
            )
        )
    practice = _squeeze(practice_name)
    if len(practice) >= _MIN_PERSONAL_LENGTH and practice in squeezed:
        problems.append(
            PasswordProblem(
                "contains_practice_name",
                "Don't use the practice's name in your password: anyone who knows "
                f"where you work can guess it. {_WORDS_TIP}",
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class _Strength:
    """The parts of a zxcvbn result that we use."""

    score: int
    warning: str
    suggestions: tuple[str, ...]


def _score(normalized: str, user_inputs: list[str]) -> _Strength:
    """Run zxcvbn on the first 72 characters, one call at a time."""
    if not normalized:
        # zxcvbn 4.5 raises IndexError on an empty string; an empty field
        # is simply the weakest possible password.
        return _Strength(score=0, warning="", suggestions=())
    with _ZXCVBN_LOCK:
        result = zxcvbn(normalized[:_ZXCVBN_MAX_CHARS], user_inputs=user_inputs)
    feedback = result["feedback"]
    return _Strength(
        score=int(result["score"]),
        warning=str(feedback["warning"] or ""),
        suggestions=tuple(str(s) for s in feedback["suggestions"]),
    )


def _too_guessable(warning: str) -> PasswordProblem:
    advice = "Add another word or two; unrelated, uncommon words are best."
    if warning:
        return PasswordProblem("too_guessable", f"{warning} {advice}")
    return PasswordProblem("too_guessable", f"This password would be easy to guess. {advice}")


def _evaluate(
    password: str, *, email: str, practice_name: str, min_length: int, max_length: int
) -> tuple[list[PasswordProblem], _Strength]:
    """All problems with *password*, and the zxcvbn result they were based on."""
    normalized = normalize_password(password)
    min_length = max(min_length, ABSOLUTE_MIN_LENGTH)
    max_length = max(max_length, ABSOLUTE_MAX_LENGTH_FLOOR, min_length)
    problems = _length_problems(len(normalized), min_length, max_length)
    common = is_common_password(normalized)
    if common:
        problems.append(
            PasswordProblem(
                "common",
                "This password, or one very like it, is on lists of common and leaked "
                "passwords that attackers try first. Choose something new. "
                f"{_WORDS_TIP}",
            )
        )
    problems += _personal_problems(_squeeze(normalized), email, practice_name)
    strength = _score(normalized, _personal_inputs(email, practice_name))
    # One message per cause: a listed password always scores low as well, and
    # a too-short one is already told to grow into a passphrase.
    too_short = len(normalized) < min_length
    if not common and not too_short and strength.score < MIN_ZXCVBN_SCORE:
        problems.append(_too_guessable(strength.warning))
    return problems, strength


def check_password(
    password: str,
    *,
    email: str = "",
    practice_name: str = "",
    min_length: int = DEFAULT_MIN_LENGTH,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> list[PasswordProblem]:
    """Every reason to refuse *password*; an empty list means it is acceptable.

    Length is counted in code points after NFKC normalisation (NIST counts
    each Unicode code point as one character). *min_length* below 8 is
    raised to 8 and *max_length* below 64 is raised to 64, so no setting can
    weaken the policy below NIST's floor. Pass the user's *email* and the
    *practice_name* so that passwords built from them are refused.
    """
    problems, _ = _evaluate(
        password,
        email=email,
        practice_name=practice_name,
        min_length=min_length,
        max_length=max_length,
    )
    return problems


def password_feedback(
    password: str, *, email: str = "", practice_name: str = "", min_length: int = DEFAULT_MIN_LENGTH
) -> dict[str, object]:
    """What the live strength meter on a password form shows.

    ``score`` is zxcvbn's 0-4, capped at 2 while the password would be
    refused (say it contains the practice name), so the meter never shows
    "strong" for a password the form will reject. ``acceptable`` is exactly
    whether `check_password` returns no problems.
    """
    problems, strength = _evaluate(
        password,
        email=email,
        practice_name=practice_name,
        min_length=min_length,
        max_length=DEFAULT_MAX_LENGTH,
    )
    score = strength.score if not problems else min(strength.score, MIN_ZXCVBN_SCORE - 1)
    return {
        "score": score,
        "acceptable": not problems,
        "problems": [problem.message for problem in problems],
        "suggestions": list(strength.suggestions),
        "warning": strength.warning,
    }
