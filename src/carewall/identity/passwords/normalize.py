"""One normal form for every password, so hashing, policy and lookup agree."""

from __future__ import annotations

import unicodedata


def normalize_password(password: str) -> str:
    """Return *password* in Unicode NFKC form.

    NIST SP 800-63B (5.1.1.2) asks verifiers that accept Unicode to normalise
    before hashing: the same passphrase typed on a phone, a Windows keyboard
    or through an IME can arrive as different code points (fullwidth letters,
    composed or decomposed accents, ligatures). NFKC maps them to one form, so
    a user is never locked out by their keyboard. It is applied by
    `hash_password`, `verify_password` and `check_password` alike; callers do
    not need to normalise first, and must not store the result anywhere.
    """
    return unicodedata.normalize("NFKC", password)
