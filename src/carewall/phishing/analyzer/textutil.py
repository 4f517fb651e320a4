"""Small decoding helpers that never raise.

Mail arrives in every charset, half of them mislabelled; a wrong label
must cost a few replacement characters, never an exception.
"""

from __future__ import annotations

import codecs
import re
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
