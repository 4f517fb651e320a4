"""Reading untrusted numbers, JSON and text without surprises.

Python parses what it is given faithfully, which is the problem: a version
number of forty digits is a fine `int` until a database driver cannot bind it
(OverflowError on SQLite, an out-of-range error on PostgreSQL), five thousand
digits exceed `int()`'s own limit, JSON nested ten thousand deep exhausts the
recursion limit in the parser or in any code that walks the result, and a NUL
or a lone surrogate in a string is valid Python but cannot be stored in
PostgreSQL or encoded as UTF-8. These helpers bound each before it travels on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carewall.core.errors import ValidationError

# The largest value an SQL INTEGER column holds on both databases.
MAX_INT32 = 2**31 - 1
# FHIR resources nest about a dozen levels deep (Synthea bundles: 12); this is generous.
MAX_JSON_DEPTH = 64

_SURROGATE_OR_NUL = re.compile("[\ud800-\udfff\x00]")


class JsonTooDeepError(ValueError):
    """JSON nested deeper than the caller accepts."""


class JsonDuplicateKeyError(ValueError):
    """JSON naming one key twice in an object (`json.loads` keeps the last silently)."""


def ascii_int(text: str, ceiling: int) -> int | None:
    """`text` as a non-negative whole number (ASCII digits only), at most `ceiling + 1`.

    None when it is not a number at all. A number above `ceiling` comes back as
    `ceiling + 1`: callers compare or clamp, so an impossible value stays
    impossible without ever being parsed in full.
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) > len(str(ceiling)):
        return ceiling + 1
    return min(int(text), ceiling + 1)


def optional_whole_number(text: str, what: str, ceiling: int) -> int | None:
    """A form field that may be blank or a whole number (ASCII digits): None when blank.

    Anything else ("²", "1e3", "-1") is a ValidationError naming `what`; a number
    above `ceiling` comes back as `ceiling + 1` for the service's own range check.
    """
    text = text.strip()
    if not text:
        return None
    number = ascii_int(text, ceiling)
    if number is None:
        raise ValidationError(f"{what} must be a whole number.")
    return number


def loads_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing nesting deeper than `max_depth` (JsonTooDeepError) and a key
    given twice in one object (JsonDuplicateKeyError).

    The parser's own recursion limit is turned into the same error, and the
    depth of what it did parse is checked without recursion, so nothing that
    walks the value afterwards can be driven into a RecursionError either.
    """
    try:
        value = json.loads(data, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise JsonTooDeepError(f"nested deeper than {max_depth} levels") from None
    if json_depth(value, max_depth) > max_depth:
        raise JsonTooDeepError(f"nested deeper than {max_depth} levels")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different. RFC 8259 leaves duplicates to the parser
    and FHIR's JSON forbids them: `{"status": "final", "status": "bogus"}` was stored as
    "bogus" after being read as one thing by whoever checked it first (about a third
    more parsing time, well under 1% of validating what was parsed)."""
    found = dict(pairs)
    if len(found) != len(pairs):  # rare: find the key that came twice, to name it
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonDuplicateKeyError(f"has the key {key!r} twice in one object")
            seen.add(key)
    return found


def json_depth(value: Any, stop_after: int) -> int:
    """How deeply `value` nests (a scalar is 0), counting no further than `stop_after + 1`."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:  # only containers are visited: scalars are most of a resource
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if depth > stop_after:
                return depth
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def storable_text(text: str) -> str:
    """`text` with what no database column or UTF-8 page can hold (NUL, lone surrogates)
    replaced by U+FFFD, so it can be stored, shown and searched for what it is."""
    return _SURROGATE_OR_NUL.sub("\ufffd", text)


def has_nul(text: str) -> bool:
    """Whether `text` holds a NUL character (PostgreSQL refuses it in any text value)."""
    return "\x00" in text
