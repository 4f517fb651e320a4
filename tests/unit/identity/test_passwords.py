"""Password hashing and policy: what we store, what we accept, what we tell the user."""

from __future__ import annotations

import argon2
import pytest
from argon2 import PasswordHasher, Type

from carewall.identity.passwords import (
    HASHER,
    PasswordCheck,
    PasswordProblem,
    check_password,
    common_passwords,
    dummy_verify,
    hash_password,
    is_common_password,
    normalize_password,
    password_feedback,
    verify_password,
)
from carewall.identity.passwords import hashing as hashing_module

STRONG = "tulip canyon ledger marble"
EMAIL = "jane.doe@example.org"
PRACTICE = "Riverside Family Clinic"
# Unrelated words, long enough to slice to any length up to 90 and stay strong.
LONG_WORDS = "violet harbour quill seventeen lantern orbit maple fjord biscuit walrus nimbus"


def codes(problems: list[PasswordProblem]) -> list[str]:
    return [problem.code for problem in problems]


def fullwidth(text: str) -> str:
    """ASCII letters and digits as their fullwidth forms (U+FF01..U+FF5E), spaces kept."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- hashing -----------------------------------------------------------------


def test_hash_and_verify_round_trip() -> None:
    stored = hash_password(STRONG)

    assert stored.startswith("$argon2id$")
    assert stored != hash_password(STRONG), "each hash must get its own salt"
    assert verify_password(stored, STRONG) == PasswordCheck(ok=True, new_hash=None)


def test_parameters_meet_owasp_minimums() -> None:
    parameters = HASHER._parameters  # no public accessor
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism >= 1


def test_wrong_password_is_refused() -> None:
    stored = hash_password(STRONG)

    assert verify_password(stored, STRONG + "!") == PasswordCheck(ok=False)
    assert verify_password(stored, STRONG.upper()).ok is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$",  # truncated
        "$argon2id$v=19$m=65536,t=3,p=4$!!!!$????",  # not base64
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=65536,t=3,p=4$é$é",  # not ASCII
    ],
)
def test_malformed_stored_hash_is_a_refusal_not_an_error(stored: str) -> None:
    assert verify_password(stored, STRONG) == PasswordCheck(ok=False)


def test_hash_with_older_parameters_is_upgraded_on_login() -> None:
    weak_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    old = weak_hasher.hash(STRONG)

    check = verify_password(old, STRONG)

    assert check.ok
    assert check.new_hash is not None
    assert not HASHER.check_needs_rehash(check.new_hash)
    assert verify_password(check.new_hash, STRONG) == PasswordCheck(ok=True, new_hash=None)


def test_wrong_password_on_old_hash_gives_no_new_hash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(STRONG)

    assert verify_password(old, "something else entirely") == PasswordCheck(ok=False)


def test_argon2i_hash_still_verifies_and_is_upgraded_to_argon2id() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I).hash(STRONG)

    check = verify_password(old, STRONG)

    assert check.ok
    assert check.new_hash is not None
    assert check.new_hash.startswith("$argon2id$")


def test_dummy_verify_uses_current_parameters_and_never_raises() -> None:
    dummy_verify(STRONG)
    dummy_verify("")
    dummy_verify("\x00" * 1000)
    dummy = hashing_module._dummy_hash()
    assert not HASHER.check_needs_rehash(dummy), "dummy must cost what a real hash costs"


def test_dummy_hash_has_the_parameters_of_real_hashes() -> None:
    """Equal cost comes from equal parameters (no timing assertion: the machine is shared)."""
    dummy_verify("anything at all")
    dummy = hashing_module._dummy_hash()
    assert argon2.extract_parameters(dummy) == argon2.extract_parameters(hash_password(STRONG))


# --- normalisation -----------------------------------------------------------


def test_normalize_is_nfkc() -> None:
    assert normalize_password(fullwidth("pass") + "\u3000" + fullwidth("word")) == "pass word"
    assert normalize_password("\ufb01sh") == "fish"  # ligature
    assert normalize_password("cafe\u0301") == "caf\u00e9"  # decomposed accent composes
    assert normalize_password("Ünïcödé stays") == "Ünïcödé stays"


def test_fullwidth_password_verifies_against_its_ascii_form() -> None:
    stored = hash_password("Tulip Canyon 42")

    assert verify_password(stored, fullwidth("Tulip Canyon 42")).ok
    assert verify_password(hash_password("cafe\u0301 au lait"), "caf\u00e9 au lait").ok


def test_fullwidth_common_password_is_refused() -> None:
    assert "common" in codes(check_password(fullwidth("password123456")))


# --- length ------------------------------------------------------------------


def test_default_minimum_is_twelve() -> None:
    assert codes(check_password("Kx9!mQ2#vLz"))[:1] == ["too_short"]
    assert "too_short" not in codes(check_password("Kx9!mQ2#vLzw"))


def test_minimum_length_is_never_below_eight() -> None:
    problems = check_password("Kx9!mQ2", min_length=4)

    assert codes(problems) == ["too_short"]
    assert "at least 8 characters" in problems[0].message
    assert check_password("Kx9!mQ2#vL", min_length=8) == []


def test_length_counts_code_points_after_nfkc() -> None:
    # Fourteen fullwidth letters are fourteen characters once normalised.
    assert "too_short" not in codes(check_password(fullwidth("quillmaplefjor")))


def test_maximum_length_default_is_128() -> None:
    assert "too_long" not in codes(check_password((LONG_WORDS * 2)[:128]))
    problems = check_password((LONG_WORDS * 2)[:129])
    assert codes(problems) == ["too_long"]
    assert "at most 128 characters" in problems[0].message


def test_maximum_length_is_never_below_sixty_four() -> None:
    assert check_password(LONG_WORDS[:64], max_length=10) == []
    assert codes(check_password(LONG_WORDS[:65], max_length=10)) == ["too_long"]


# --- common and breached passwords -------------------------------------------


def test_bundled_list_has_at_least_100000_lowercase_entries() -> None:
    listed = common_passwords()

    assert isinstance(listed, frozenset)
    assert len(listed) >= 100_000
    assert {"password", "123456", "iloveyou", "sunshine"} <= listed
    assert all(entry == entry.lower() and entry for entry in list(listed)[:5000])


def test_bundled_list_loads_once() -> None:
    common_passwords.cache_clear()
    first = common_passwords()
    assert common_passwords() is first


@pytest.mark.parametrize(
    "password",
    [
        "qwertyuiopasdf",  # listed as is
        "QwertyuiopASDF",  # case is ignored
        "i love you forever",  # spaces are ignored
        "password123456",  # listed word + digits
        "Sunshine2024!!",  # listed word + year + punctuation
        "!!football!!2024",  # decoration at both ends
    ],
)
def test_common_passwords_and_trivial_variants_are_refused(password: str) -> None:
    problems = check_password(password)

    assert "common" in codes(problems)
    assert "too_guessable" not in codes(problems), "one message per cause"


def test_short_core_is_not_matched_against_the_list() -> None:
    # "abc" is listed, but a three-letter core would refuse far too much.
    assert not is_common_password("abc" + "!" * 10)


def test_problem_messages_say_what_to_do() -> None:
    (problem,) = check_password("password123456")
    assert problem.code == "common"
    assert "words" in problem.message


# --- personal details ----------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["jane.doe loves tulips", "JANE.DOE walks at dusk", "jane.doe@example.org!!"]
)
def test_email_in_password_is_refused(password: str) -> None:
    assert "contains_email" in codes(check_password(password, email=EMAIL))


def test_short_email_local_part_is_not_checked() -> None:
    assert check_password("jo walks the canyon at dusk", email="jo@example.org") == []


@pytest.mark.parametrize(
    "password",
    ["Riverside Family Clinic 2024", "riversidefamilyclinic rocks", "RIVERSIDE family CLINIC"],
)
def test_practice_name_in_password_is_refused(password: str) -> None:
    problems = check_password(password, practice_name=PRACTICE)

    assert "contains_practice_name" in codes(problems)


# --- strength ------------------------------------------------------------------


@pytest.mark.parametrize("password", ["bbbbbbbbbbbbbbbbbbbbbb", "abcabcabcabcabc"])
def test_easily_guessed_password_is_refused(password: str) -> None:
    assert codes(check_password(password)) == ["too_guessable"]


def test_zxcvbn_is_given_the_email_pieces() -> None:
    # Not a substring of the email, so only zxcvbn's user_inputs catch it.
    email = "zorbulax.quintrell@example.org"
    assert check_password("quintrellzorbulax") == []
    assert codes(check_password("quintrellzorbulax", email=email)) == ["too_guessable"]


def test_zxcvbn_is_given_the_practice_name_words() -> None:
    practice = "Vexmoor Quillon Practice"
    assert check_password("quillonvexmoor") == []
    assert codes(check_password("quillonvexmoor", practice_name=practice)) == ["too_guessable"]


@pytest.mark.parametrize("password", [STRONG, "Kx9!mQ2#vLzw", "correct horse battery staple"])
def test_strong_passphrase_is_accepted(password: str) -> None:
    assert check_password(password, email=EMAIL, practice_name=PRACTICE) == []


def test_very_long_password_is_refused_for_its_length() -> None:
    """zxcvbn sees only a prefix, so a huge input cannot stall the form."""
    assert "too_long" in codes(check_password("a" * 100_000))


def test_empty_password_is_refused_without_error() -> None:
    assert codes(check_password("")) == ["too_short"]


# --- strength meter --------------------------------------------------------------


def test_feedback_shape_for_a_strong_passphrase() -> None:
    feedback = password_feedback(STRONG, email=EMAIL, practice_name=PRACTICE)

    assert set(feedback) == {"score", "acceptable", "problems", "suggestions", "warning"}
    assert feedback["acceptable"] is True
    assert feedback["score"] in (3, 4)
    assert feedback["problems"] == []
    assert isinstance(feedback["suggestions"], list)
    assert isinstance(feedback["warning"], str)


def test_feedback_for_a_weak_password() -> None:
    feedback = password_feedback("bbbbbbbbbbbbbbbbbbbbbb")

    assert feedback["acceptable"] is False
    assert feedback["score"] in (0, 1, 2)
    problems = feedback["problems"]
    assert isinstance(problems, list)
    assert problems
    assert all(isinstance(message, str) for message in problems)
    assert feedback["warning"]
    assert feedback["suggestions"]


def test_feedback_never_shows_strong_for_a_refused_password() -> None:
    feedback = password_feedback(f"{STRONG} riverside family clinic", practice_name=PRACTICE)

    assert feedback["acceptable"] is False
    assert isinstance(feedback["score"], int)
    assert feedback["score"] <= 2


def test_feedback_respects_min_length() -> None:
    assert password_feedback("Kx9!mQ2#vL", min_length=8)["acceptable"] is True
    assert password_feedback("Kx9!mQ2#vL")["acceptable"] is False
