"""Small decoding helpers that never raise.

Mail arrives in every charset, half of them mislabelled; a wrong label
must cost a few replacement characters, never an exception.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from email.header import decode_header, make_header
from functools import lru_cache

from carewall.phishing.analyzer.limits import MAX_HEADER_CHARS

_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=256)
def _text_codec(charset: str) -> str | None:
    """Resolve a declared charset to a text codec name, or None if unusable."""
    name = charset.strip().strip("\"'").lower()
    if not name or len(name) > 40:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # Refuse bytes-to-bytes codecs such as base64_codec or zlib_codec.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, else UTF-8, else Windows-1252.

    Some codecs (UTF-7, unicode_escape) happily produce lone surrogates, which no
    UTF-8 page or database can hold; they become U+FFFD here, at the source.
    """
    if charset:
        codec = _text_codec(charset)
        if codec is not None:
            try:
                return _no_lone_surrogates(data.decode(codec, errors="replace"))
            except Exception:  # noqa: S110 - a broken codec must not stop analysis
                pass
    for fallback in _FALLBACK_CHARSETS:
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def clean_surrogates(value: str) -> str:
    """Turn surrogate-escaped raw bytes (from the byte parser) into text, and any other
    lone surrogate (an encoded word in UTF-7, say) into U+FFFD. Never raises."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:  # not only escaped bytes: real lone surrogates
            return _no_lone_surrogates(value)
        return decode_bytes(raw, None)
    return value


def _no_lone_surrogates(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 encoded words; on any failure return the raw text."""
    text = clean_surrogates(str(value))[:MAX_HEADER_CHARS]
    if "=?" not in text:
        return " ".join(text.split())
    try:
        decoded = str(make_header(decode_header(text)))
    except Exception:
        decoded = text
    return " ".join(clean_surrogates(decoded).split())


def _is_hidden_char(char: str) -> bool:
    """Characters that render as nothing (or as an accent on the previous letter)."""
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0xE0000 <= code <= 0xE007F:
        return True  # variation selectors and tag characters
    if code in _INVISIBLE_EXTRA:
        return True
    category = unicodedata.category(char)
    if category == "Cf":
        return True  # format characters: zero-width space/joiners, bidi controls, soft hyphen
    # Combining marks outside the Latin accents (U+0300-U+036F) and the keycap and
    # symbol marks (U+20D0-U+20FF) that emoji use.
    return category in {"Mn", "Me"} and not (0x300 <= code <= 0x36F or 0x20D0 <= code <= 0x20FF)


#: Blank-looking letters: combining grapheme joiner, Hangul and Braille fillers, Mongolian
#: vowel separator, Khmer inherent vowels.
_INVISIBLE_EXTRA = frozenset(
    {0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x17B4, 0x17B5}
)


def strip_invisible(text: str) -> tuple[str, int]:
    """``text`` without characters hidden inside or after letters, and how many were removed.

    Emoji sequences keep their joiners and variation selectors (they follow
    a symbol, or a digit for keycaps); characters that sit against letters
    or punctuation, where they split or decorate a word without showing, are
    removed and counted.
    """
    if text.isascii():
        return text, 0
    out: list[str] = []
    removed = 0
    previous = ""
    for char in text:
        if _is_hidden_char(char) and not _emoji_part(previous, char):
            removed += 1
            continue
        out.append(char)
        previous = char
    return "".join(out), removed


def _emoji_part(previous: str, char: str) -> bool:
    """A joiner or selector that belongs to an emoji (after a symbol, or a keycap digit)."""
    if not previous:
        return False
    if unicodedata.category(previous) in {"So", "Sk", "Cs"} or ord(previous) > 0x1F000:
        return True
    return char == "\ufe0f" and previous in "0123456789#*"
