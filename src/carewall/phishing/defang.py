"""Defanging: writing a URL so that nobody clicks or pastes it by accident.

``https://evil.example/login`` becomes ``hxxps://evil[.]example/login``: still
readable (and searchable in threat-intel tools that accept the convention),
no longer a link in any mail client, chat or browser.
"""

from __future__ import annotations

import re

# Linear: one bounded character class, no nested quantifiers (same shape as the analyzer's).
URL_IN_TEXT = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^\[\]]{2,2000}")
_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
_TRAILING = ".,;:!?)>'\""


def defang(url: str) -> str:
    """``hxxps://host[.]example/path``: scheme broken, every dot of the host bracketed."""
    scheme, sep, remainder = url.strip().partition("://")
    if not sep:
        scheme, remainder = "", scheme
    scheme = _SCHEMES.get(scheme.lower(), scheme)
    cut = min((i for i in (remainder.find(c) for c in "/?#") if i != -1), default=len(remainder))
    host, tail = remainder[:cut], remainder[cut:]
    defanged_host = host.replace(".", "[.]")
    return f"{scheme}{sep}{defanged_host}{tail}"


def split_trailing(match: str) -> tuple[str, str]:
    """A URL found in prose, without the sentence punctuation that followed it."""
    url = match.rstrip(_TRAILING)
    return url, match[len(url) :]


def defang_text(text: str) -> str:
    """``text`` with every URL in it defanged (for evidence and other free text)."""

    def _one(match: re.Match[str]) -> str:
        url, tail = split_trailing(match.group(0))
        return defang(url) + tail

    return URL_IN_TEXT.sub(_one, text)
