"""Reading a FHIR request: who (Caller), why (purpose), what (body, If-Match, search).

Everything a client can get wrong is refused here with a 400/406/413/415
OperationOutcome naming the parameter or header at fault, never its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor

from carewall.core.errors import CarewallError, NotFoundError
from carewall.core.inputs import (
    MAX_INT32,
    JsonDuplicateKeyError,
    JsonTooDeepError,
    ascii_int,
    loads_json,
)
from carewall.identity import Role
from carewall.records import SUPPORTED_TYPES, Issue, Purpose, RecordValidationError
from carewall.records.store.terms import PREFIX_MIN, query_prefix
from carewall.web.auth import Caller, runtime_of
from carewall.web.csrf import FIELD as CSRF_FIELD
from carewall.web.fhir.capability import (
    DEFAULT_COUNT,
    EXACT_MODIFIABLE,
    MAX_COUNT,
    RESULT_PARAMS,
    SHAPING_PARAMS,
    date_param,
    search_includes,
    search_params,
    search_revincludes,
    sort_params,
)

# A request body holds one resource: its largest attachment (base64) plus this much more.
BODY_OVERHEAD = 1024 * 1024
JSON_TYPES = ("application/fhir+json", "application/json")
_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
_PURPOSES = {p.value: p for p in Purpose if p is not Purpose.SYSTEM}
_FHIR_ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"
_FHIR_ID = re.compile(_FHIR_ID_PATTERN)
# Versions are stored in an INTEGER column: a bigger one cannot exist.
MAX_VERSION = MAX_INT32


class BadRequestError(RecordValidationError):
    """A FHIR request Carewall cannot act on (unknown parameter, bad header): HTTP 400."""

    code = "bad_request"
    status = 400


def bad_request(expression: str, problem: str, code: str = "invalid") -> BadRequestError:
    """A 400 naming the parameter or header at fault."""
    return BadRequestError(f"{expression}: {problem}", [Issue("error", code, expression, problem)])


class NotAcceptableError(CarewallError):
    """The client asked for a format other than FHIR JSON."""

    code = "not_acceptable"
    status = 406


class UnsupportedMediaError(CarewallError):
    """The body is not FHIR JSON."""

    code = "unsupported_media_type"
    status = 415


class PayloadTooLargeError(CarewallError):
    """The body is over the size limit."""

    code = "too_large"
    status = 413


class UnknownTypeError(CarewallError):
    """A resource type this server does not serve."""

    code = "not_supported"
    status = 404


_DEFAULT_PURPOSE = {Role.PATIENT: Purpose.PATIENT_REQUEST, Role.INTEGRATION: Purpose.OPERATIONS}


def purpose_of(request: Request, caller: Caller) -> Purpose:
    """`X-Purpose-Of-Use` (a v3 PurposeOfUse code). By default: a patient's request for a
    patient, operations for an integration feed (a load is no one's care), else treatment."""
    sent = request.headers.get("x-purpose-of-use", "").rpartition("|")[2].strip()
    if not sent:
        default = _DEFAULT_PURPOSE.get(caller.role) if caller.role else None
        return default or Purpose.TREATMENT
    purpose = _PURPOSES.get(sent.upper())
    if purpose is None:
        codes = ", ".join(sorted(_PURPOSES))
        raise bad_request("X-Purpose-Of-Use", f"use one of {codes}", "value")
    return purpose


#: What `Prefer: return=` may ask of a write (FHIR R4 http, "Managing return content").
RETURN_PREFERENCES = frozenset({"minimal", "representation", "OperationOutcome"})


def return_preference(request: Request) -> str | None:
    """The `return=` preference of the `Prefer` header (None when absent or not one FHIR
    defines: a preference the server does not know is ignored, RFC 7240)."""
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.partition("=")
            if name.strip().lower() == "return":
                chosen = value.split(";")[0].strip().strip('"')
                return chosen if chosen in RETURN_PREFERENCES else None
    return None


def check_type(resource_type: str) -> None:
    """404 for a type this server does not serve."""
    if resource_type not in SUPPORTED_TYPES:
        raise UnknownTypeError(f"{resource_type[:64]} is not a supported resource type.")


async def check_format(request: Request) -> None:
    """406 unless the client accepts FHIR JSON (`_format` or `Accept`).

    Async although it awaits nothing: it runs on every FHIR request, and a sync
    dependency costs a hop to the thread pool that is dearer than the check.
    """
    wanted = request.query_params.get("_format")
    if wanted is not None and wanted.split(";")[0].strip() not in _FORMATS:
        raise NotAcceptableError("Only JSON is supported (_format=json).")
    accept = request.headers.get("accept", "")
    if accept and not any(t in accept for t in (*JSON_TYPES, "*/*", "application/*")):
        raise NotAcceptableError("Only application/fhir+json is supported.")


def max_body_bytes(max_attachment_bytes: int) -> int:
    """The largest request body: one attachment of the largest size allowed, base64
    encoded (4 characters per 3 bytes), plus `BODY_OVERHEAD` for the rest of the
    resource. Anything bigger cannot be a valid resource and is refused unread."""
    return 4 * -(-max_attachment_bytes // 3) + BODY_OVERHEAD


async def read_resource(request: Request) -> dict[str, Any]:
    """The request body as a JSON object: 415 if not JSON, 413 over the body limit
    (`max_body_bytes`), 400 if unparsable."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise UnsupportedMediaError("Send the resource as application/fhir+json.")
    limit = max_body_bytes(runtime_of(request).settings.max_attachment_bytes)
    too_large = PayloadTooLargeError(f"The request body is larger than {limit} bytes.")
    declared = ascii_int(request.headers.get("content-length", ""), limit)
    if declared is not None and declared > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large
    try:
        value = loads_json(bytes(body))
    except JsonTooDeepError as exc:
        raise bad_request("body", f"JSON {exc}", "too-costly") from None
    except JsonDuplicateKeyError as exc:
        raise bad_request("body", f"JSON {exc}", "structure") from None
    except ValueError:
        raise bad_request("body", "not valid JSON", "structure") from None
    if not isinstance(value, dict):
        raise bad_request("body", "not a JSON object", "structure")
    return value


def body_of_type(resource: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The body, if its resourceType is the one in the URL (400 otherwise)."""
    if resource.get("resourceType") != resource_type:
        raise bad_request("resourceType", f"must be {resource_type}, as in the URL", "value")
    return resource


def if_match(request: Request) -> int | None:
    """The version named by `If-Match: W/"n"` (plain `"n"` and `n` accepted too)."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    version = ascii_int(header.strip().removeprefix("W/").strip('"'), MAX_VERSION)
    if version is None:
        raise bad_request("If-Match", 'expected W/"version"', "value")
    return version  # past the largest version, it matches none (412), never overflows


def version_number(text: str) -> int | None:
    """A version from a URL (`_history/{version}`): None when it cannot exist."""
    version = ascii_int(text, MAX_VERSION)
    return version if version is not None and 1 <= version <= MAX_VERSION else None


def check_id(resource_type: str, logical_id: str) -> None:
    """404 for an id that cannot exist (FHIR ids are 1-64 of A-Z a-z 0-9 - .), before it
    reaches a database that might choke on it (a NUL byte, thousands of characters).
    `Type/_history` is the history of a whole type, which is not served: 400 saying so."""
    if logical_id == "_history":
        raise bad_request(
            "_history",
            f"the history of every {resource_type} is not supported; "
            f"ask {resource_type}/{{id}}/_history",
            "not-supported",
        )
    if not _FHIR_ID.fullmatch(logical_id):
        raise NotFoundError(f"{resource_type}/{logical_id[:64]!r} does not exist.")


class _FhirIdSegment(Convertor[str]):
    """`{x:fhir_id}` in a path: a segment matched only when it is a well-formed FHIR id."""

    regex = _FHIR_ID_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _FhirTypeSegment(_FhirIdSegment):
    """`{x:fhir_type}`: a segment of a resource type's form (an upper-case letter first),
    never `$export` or `bulkstatus`."""

    regex = r"[A-Z][A-Za-z]{1,63}"


register_url_convertor("fhir_id", _FhirIdSegment())
register_url_convertor("fhir_type", _FhirTypeSegment())


FORM_TYPE = "application/x-www-form-urlencoded"
# A `_search` body holds parameters only: a few hundred bytes; far more is not a search.
MAX_SEARCH_BODY = 64 * 1024


async def search_form(request: Request) -> list[tuple[str, str]]:
    """The parameters of a `POST [type]/_search`, from its form body.

    FHIR sends them as `application/x-www-form-urlencoded` (UTF-8). Any other
    body (multipart, JSON, text) is refused with 415 rather than read as no
    parameters, which would search everything; an empty body with no (or the
    form) content type asks for nothing in particular, like a GET without
    parameters. 413 over `MAX_SEARCH_BODY`, 400 if not UTF-8. A browser's
    `csrf_token` field is not a search parameter and is left out.
    """
    header = request.headers.get("content-type", "")
    media, _, options = header.partition(";")
    media = media.strip().lower()
    charset = options.strip().lower().removeprefix("charset=").strip('"') if options else ""
    refused = UnsupportedMediaError(f"Send search parameters as {FORM_TYPE} (UTF-8).")
    if media not in {"", FORM_TYPE} or charset not in {"", "utf-8"}:
        raise refused
    try:
        body = await _search_body(request)
    except RuntimeError:  # the CSRF check already parsed this (cookie-authenticated) form
        form = await request.form()
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != CSRF_FIELD]
    if media == "" and body:
        raise refused
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("body", "not UTF-8", "structure") from None
    return [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if k != CSRF_FIELD]


async def _search_body(request: Request) -> bytes:
    too_large = PayloadTooLargeError(f"A search body is at most {MAX_SEARCH_BODY} bytes.")
    declared = request.headers.get("content-length", "")
    if (ascii_int(declared, MAX_SEARCH_BODY) or 0) > MAX_SEARCH_BODY:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_SEARCH_BODY:
            raise too_large
    return bytes(body)


@dataclass(frozen=True)
class SearchRequest:
    """A type-level search as asked: parameters (checked), page size and cursor."""

    params: dict[str, list[str]]
    count: int
    cursor: str | None


def search_request(resource_type: str, items: list[tuple[str, str]]) -> SearchRequest:
    """Check the query parameters of a search; unknown ones are refused, not ignored."""
    supported = search_params(resource_type)
    params: dict[str, list[str]] = {}
    for name, value in items:
        if name in RESULT_PARAMS:
            continue
        if name in SHAPING_PARAMS:
            _check_shaping(resource_type, name, value, params)
            if name == "_sort" and value.lstrip("-") == date_param(resource_type):
                value = "-date" if value.startswith("-") else "date"  # `-birthdate` too
            params.setdefault(name, []).append(value)
            continue
        base = name.removesuffix(":exact")
        if base not in supported or (base != name and base not in EXACT_MODIFIABLE):
            problem = f"not a supported search parameter for {resource_type}"
            raise bad_request(name[:64], problem, "not-supported")
        dated = base in {"_lastUpdated", date_param(resource_type)}  # they say "give a date"
        if not dated and any(not part.strip() for part in value.split(",")):
            # `code=` matched nothing (200, empty) where `date=` was refused: both say so now.
            raise bad_request(
                name, "give a value (an empty one, or one in a list, matches nothing)"
            )
        if name in EXACT_MODIFIABLE and any(
            query_prefix(part) is None for part in value.split(",") if part.strip()
        ):
            raise bad_request(name, f"type at least {PREFIX_MIN} letters of the name", "value")
        params.setdefault(name, []).append(value)
    _once(items, RESULT_PARAMS)
    cursor = dict(items).get("_cursor")
    if cursor is not None and params:
        raise bad_request("_cursor", "a page cursor carries its own search parameters")
    count = 0 if params.get("_summary") == ["count"] else _count(dict(items).get("_count"))
    return SearchRequest(params, count, cursor)


def _once(items: list[tuple[str, str]], names: frozenset[str]) -> None:
    """400 for a result parameter given twice (`_count=1&_count=2`): which one was meant
    cannot be told, and `_sort` or `_elements` given twice are refused the same way."""
    seen: set[str] = set()
    for name, _ in items:
        if name in names and name in seen:
            raise bad_request(name, "give it once")
        seen.add(name)


# `_summary` values served: `count` (the total only) and `false` (the whole resources).
SUMMARIES = frozenset({"count", "false"})
MAX_ELEMENTS = 50
_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")
# What an element name may be echoed as in a refusal: schema-like text only, never a value.
_SHOWN = re.compile(r"[A-Za-z0-9.\[\]_-]{1,64}")


def element_names(resource_type: str, value: str) -> list[str]:
    """The element names of an `_elements` value (comma-separated top-level names); a 400
    that says what is wrong with the first one it cannot take."""
    names = value.split(",")
    if len(names) > MAX_ELEMENTS:
        raise bad_request("_elements", f"at most {MAX_ELEMENTS} element names ({len(names)} given)")
    for element in names:
        if not element.strip():
            where = "an empty list" if len(names) == 1 else "an empty name in the list"
            raise bad_request("_elements", f"empty element name ({where})")
        if not _ELEMENT.fullmatch(element):
            raise bad_request("_elements", _element_problem(resource_type, element))
    return names


def _element_problem(resource_type: str, element: str) -> str:
    """Why `element` is no top-level element name, naming it only when it looks like one."""
    if not _SHOWN.fullmatch(element):
        return "element names are letters and digits, starting with a letter"
    shown = f"`{element}`"
    head, dot, rest = element.partition(".")
    if dot and head == resource_type and _ELEMENT.fullmatch(rest):
        return f"{shown}: give element names without the resource type (`{rest}`)"
    if dot:
        return f"{shown}: only top-level element names are supported (`{head}`)"
    if element.endswith("[x]"):
        stem = element.removesuffix("[x]")
        example = f"{stem}Quantity" if stem == "value" else f"{stem}DateTime"
        return (
            f"{shown} is not an element name; use `{stem}` (every type) or a typed name "
            f"such as {example}"
        )
    return f"{shown}: element names are letters and digits, starting with a letter"


def _check_shaping(resource_type: str, name: str, value: str, params: dict[str, list[str]]) -> None:
    """400 for a result parameter this server cannot honour as asked (never ignored)."""
    if name in {"_sort", "_summary", "_elements"} and name in params:
        raise bad_request(name, "give it once")
    if name == "_sort" and value not in sort_params(resource_type):
        known = ", ".join(sorted(sort_params(resource_type)))
        raise bad_request(name, f"sort by one of {known}", "not-supported")
    if name == "_summary" and value not in SUMMARIES:
        raise bad_request(name, "only _summary=count and _summary=false", "not-supported")
    if name == "_elements":
        element_names(resource_type, value)
    if name in {"_include", "_revinclude"}:
        served = search_includes if name == "_include" else search_revincludes
        allowed = served(resource_type)
        if not all(v in allowed for v in value.split(",")):
            listed = ", ".join(allowed) or "none"
            raise bad_request(name, f"{resource_type} takes {listed}", "not-supported")


def _count(text: str | None) -> int:
    if text is None:
        return DEFAULT_COUNT
    count = ascii_int(text, MAX_COUNT)
    if count is None:
        raise bad_request("_count", "must be a whole number", "value")
    return min(count, MAX_COUNT)  # a bigger page is clamped, never refused


# A FHIR instant: seconds and a zone are required (R4 datatypes).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def since_instant(values: list[str]) -> datetime | None:
    """The one `_since` given (a FHIR instant), or None; 400 when repeated or malformed."""
    if not values:
        return None
    if len(values) > 1:
        raise bad_request("_since", "give it once")
    value = values[0].strip()
    if not _INSTANT.fullmatch(value):
        raise bad_request("_since", "must be a FHIR instant, e.g. 2026-01-31T08:00:00Z")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request("_since", "is not a valid instant") from None


# What a history read takes: its page size, its start and the page cursor (`_format` is
# checked for every FHIR request).
HISTORY_PARAMS = frozenset({"_count", "_since", "_cursor", "_format"})


@dataclass(frozen=True)
class HistoryRequest:
    """A history read as asked: versions changed at or after `since`, `count` a page."""

    since: datetime | None
    count: int
    cursor: str | None


def history_request(items: list[tuple[str, str]]) -> HistoryRequest:
    """Check the query parameters of a history read: anything else is refused, not ignored."""
    for name, _ in items:
        if name == "_at":
            raise bad_request(name, "not supported; use _since", "not-supported")
        if name not in HISTORY_PARAMS:
            problem = "not a supported history parameter (_count, _since)"
            raise bad_request(name[:64], problem, "not-supported")
        if sum(1 for other, _ in items if other == name) > 1:
            raise bad_request(name, "give it once")
    asked = dict(items)
    cursor = asked.get("_cursor")
    if cursor is not None and len(asked.keys() - {"_cursor", "_format"}) > 0:
        raise bad_request("_cursor", "a page cursor carries its own parameters")
    since = since_instant([asked["_since"]] if "_since" in asked else [])
    return HistoryRequest(since, _count(asked.get("_count")), cursor)
