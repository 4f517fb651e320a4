"""Reading a FHIR `transaction` or `batch` Bundle into checked entry requests.

Everything about the shape of a Bundle is decided here, before any record is
touched: the Bundle type, the entry count, each entry's `request` (method, URL,
`ifMatch`, `ifNoneExist`) and resource. A problem is refused with a 400
`InvalidBundleError` whose issue names the entry (`Bundle.entry[3].request.url`)
and never echoes a submitted value. What needs the database (permissions,
versions, validation of the resource's content) is left to `transactions`;
its failures are reported as `BundleEntryError`, which moves an error's
issues under the entry (`Patient.birthDate` -> `Bundle.entry[3].resource.birthDate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from carewall.core.config import Settings
from carewall.core.errors import CarewallError
from carewall.records.errors import Issue, RecordValidationError
from carewall.records.store.validation import SUPPORTED_TYPES

# A Bundle holds every entry in memory and, as a transaction, in one database
# transaction: its entries are capped by `CAREWALL_FHIR_BUNDLE_MAX_ENTRIES` (this is its
# default), its work by `CAREWALL_FHIR_BUNDLE_BUDGET`, its size by the request body limit.
DEFAULT_MAX_ENTRIES: int = Settings.model_fields["fhir_bundle_max_entries"].default
KINDS = frozenset({"transaction", "batch"})
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_VERSION = re.compile(r'(?:W/)?"?(\d{1,9})"?')
_UNSUPPORTED_REQUEST_FIELDS = ("ifNoneMatch", "ifModifiedSince")

Query = tuple[tuple[str, str], ...]


class Method(StrEnum):
    """The HTTP methods a Bundle entry may use here (PATCH and HEAD are refused)."""

    DELETE = "DELETE"
    POST = "POST"
    PUT = "PUT"
    GET = "GET"


# FHIR's processing order for a transaction (http.html#trules).
PROCESSING_ORDER = (Method.DELETE, Method.POST, Method.PUT, Method.GET)


class InvalidBundleError(RecordValidationError):
    """The Bundle cannot be processed as sent (shape, type, an entry's request): HTTP 400."""

    code = "invalid_bundle"
    status = 400


@dataclass(frozen=True)
class EntryRequest:
    """One entry as asked: what to do (`method`), to what, and with which resource.

    `logical_id` is set for PUT, DELETE and a GET read; `query` for a GET search;
    `resource` for POST and PUT (for PUT its `id` is the one in the URL).
    """

    index: int
    method: Method
    resource_type: str
    logical_id: str | None = None
    query: Query | None = None
    resource: dict[str, Any] | None = None
    full_url: str | None = None
    if_match: int | None = None
    if_none_exist: Query | None = None

    @property
    def target(self) -> str:
        """`Type/id`, or `Type` for a create or a search (as audit entries name it)."""
        return f"{self.resource_type}/{self.logical_id}" if self.logical_id else self.resource_type

    @property
    def reads(self) -> bool:
        """Whether the entry reveals stored data (a GET, or a conditional create's search)."""
        return self.method is Method.GET or self.if_none_exist is not None


@dataclass(frozen=True)
class BundleRequest:
    """A checked `transaction` or `batch` Bundle: its kind and its entries, in order.

    `refused` holds a batch's entries that cannot be processed as sent, by their
    index: each fails on its own (FHIR http.html#brules) and is absent from
    `entries`. A transaction has none: one such entry refuses the whole Bundle.
    """

    kind: str
    entries: tuple[EntryRequest, ...]
    base: str
    refused: tuple[tuple[int, InvalidBundleError], ...] = ()

    @property
    def size(self) -> int:
        """How many entries the Bundle sent, refused ones included."""
        return len(self.entries) + len(self.refused)

    @property
    def reads(self) -> bool:
        """Whether any entry reads, so the caller needs read rights as well as write."""
        return any(entry.reads for entry in self.entries)

    def of(self, method: Method) -> Iterator[EntryRequest]:
        """The entries using `method`, in the Bundle's order."""
        return (entry for entry in self.entries if entry.method is method)

    def in_processing_order(self) -> Iterator[EntryRequest]:
        """DELETE, then POST, then PUT, then GET; entries keep their order within a method."""
        for method in PROCESSING_ORDER:
            yield from self.of(method)


def read_bundle(body: Any, base: str, max_entries: int = DEFAULT_MAX_ENTRIES) -> BundleRequest:
    """Check a request body as a transaction or batch Bundle sent to `base` (400 otherwise).

    Pass the configured `Settings.fhir_bundle_max_entries`; the default is the default
    setting."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise invalid("resourceType", "send a Bundle of type transaction or batch")
    kind = body.get("type")
    if kind not in KINDS:
        raise invalid("Bundle.type", "only transaction and batch Bundles are processed here")
    raw = body.get("entry", [])
    if not isinstance(raw, list):
        raise invalid("Bundle.entry", "must be a list", "structure")
    if len(raw) > max_entries:
        raise invalid("Bundle.entry", f"at most {max_entries} entries per Bundle", "too-costly")
    if kind == "transaction":
        entries = tuple(_entry(index, item, base) for index, item in enumerate(raw))
        _refuse_repeats(entries, kind)
        return BundleRequest(kind, entries, base.rstrip("/"))
    read: list[EntryRequest] = []
    refused: list[tuple[int, InvalidBundleError]] = []
    for index, item in enumerate(raw):
        try:
            read.append(_entry(index, item, base))
        except InvalidBundleError as problem:
            refused.append((index, problem))
    _refuse_repeats(read, kind)
    return BundleRequest(kind, tuple(read), base.rstrip("/"), tuple(refused))


def invalid(expression: str, problem: str, code: str = "invalid") -> InvalidBundleError:
    """A 400 naming the part of the Bundle at fault."""
    return InvalidBundleError(
        f"{expression}: {problem}", [Issue("error", code, expression, problem)]
    )


def _entry(index: int, raw: Any, base: str) -> EntryRequest:
    at = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise invalid(at, "must be a JSON object", "structure")
    request = raw.get("request")
    if not isinstance(request, dict):
        raise invalid(f"{at}.request", "missing: every entry needs a request", "required")
    method = _method(at, request.get("method"))
    resource_type, logical_id, query = _url(at, request.get("url"), base)
    for name in _UNSUPPORTED_REQUEST_FIELDS:
        if request.get(name) is not None:
            raise invalid(f"{at}.request.{name}", "not supported", "not-supported")
    full_url = raw.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise invalid(f"{at}.fullUrl", "must be a string", "structure")
    entry = EntryRequest(index, method, resource_type, logical_id, query, None, full_url)
    return _with_details(at, entry, request, raw.get("resource"))


def _method(at: str, method: Any) -> Method:
    if not isinstance(method, str):
        raise invalid(f"{at}.request.method", "missing", "required")
    try:
        return Method(method)
    except ValueError:
        problem = "use GET, POST, PUT or DELETE (PATCH and HEAD are not supported)"
        raise invalid(f"{at}.request.method", problem, "not-supported") from None


def _url(at: str, url: Any, base: str) -> tuple[str, str | None, Query | None]:
    """(type, id, search query) from a URL relative to the base (or absolute to it)."""
    where = f"{at}.request.url"
    if not isinstance(url, str) or not url.strip():
        raise invalid(where, "missing", "required")
    url = url.strip()
    own = base.rstrip("/") + "/"
    if url.startswith(own):
        url = url[len(own) :]
    elif urlsplit(url).scheme:
        raise invalid(
            where,
            "an absolute URL of another server; use Type, Type/id or Type?query",
            "not-supported",
        )
    path, has_query, query = url.lstrip("/").partition("?")
    parts = path.split("/") if path else []
    if not 1 <= len(parts) <= 2 or (len(parts) == 2 and not _ID.fullmatch(parts[1])):
        raise invalid(where, "use Type, Type/id or Type?query", "not-supported")
    if parts[0] not in SUPPORTED_TYPES:
        raise invalid(where, "not a supported resource type", "not-supported")
    logical_id = parts[1] if len(parts) == 2 else None
    if has_query and logical_id is not None:
        raise invalid(where, "a query goes with Type, not Type/id", "not-supported")
    return parts[0], logical_id, _query(query) if has_query else None


def _query(text: str) -> Query:
    return tuple(parse_qsl(text, keep_blank_values=True))


def _with_details(
    at: str, entry: EntryRequest, request: dict[str, Any], resource: Any
) -> EntryRequest:
    """Check what each method needs (id, resource, conditions) and complete the entry."""
    method = entry.method
    if method is not Method.GET and entry.query is not None:
        problem = "conditional update and delete are not supported; name the resource by id"
        raise invalid(f"{at}.request.url", problem, "not-supported")
    if method is Method.POST and entry.logical_id is not None:
        raise invalid(f"{at}.request.url", "POST needs Type (the server assigns the id)")
    if method in {Method.PUT, Method.DELETE} and entry.logical_id is None:
        raise invalid(f"{at}.request.url", f"{method} needs Type/id", "not-supported")
    if_match = _if_match(at, method, request.get("ifMatch"))
    if_none_exist = _if_none_exist(at, entry, request.get("ifNoneExist"))
    body = _resource(at, entry, resource) if method in {Method.POST, Method.PUT} else None
    return EntryRequest(
        entry.index,
        method,
        entry.resource_type,
        entry.logical_id,
        entry.query,
        body,
        entry.full_url,
        if_match,
        if_none_exist,
    )


def _resource(at: str, entry: EntryRequest, resource: Any) -> dict[str, Any]:
    where = f"{at}.resource"
    if not isinstance(resource, dict):
        raise invalid(where, f"{entry.method} needs a resource", "required")
    if resource.get("resourceType") == "Bundle":
        raise invalid(where, "nested Bundles are not processed", "not-supported")
    if resource.get("resourceType") != entry.resource_type:
        raise invalid(f"{where}.resourceType", "must be the type in request.url", "value")
    if entry.method is Method.POST:
        return {k: v for k, v in resource.items() if k != "id"}  # the server assigns it
    if resource.get("id", entry.logical_id) != entry.logical_id:
        raise invalid(f"{where}.id", "must be the id in request.url", "value")
    return {**resource, "id": entry.logical_id}


def _if_match(at: str, method: Method, value: Any) -> int | None:
    if value is None:
        return None
    where = f"{at}.request.ifMatch"
    if method is not Method.PUT:
        raise invalid(where, "only supported on PUT", "not-supported")
    found = _VERSION.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise invalid(where, 'expected W/"version"', "value")
    return int(found.group(1))


def _if_none_exist(at: str, entry: EntryRequest, value: Any) -> Query | None:
    if value is None:
        return None
    where = f"{at}.request.ifNoneExist"
    if entry.method is not Method.POST:
        raise invalid(where, "only supported on POST", "not-supported")
    return if_none_exist_query(where, entry.resource_type, value)


def if_none_exist_query(where: str, resource_type: str, value: Any) -> Query:
    """A conditional create's search, `identifier=[system|]value` (also `Type?identifier=`),
    as a Bundle entry's `ifNoneExist` or the `If-None-Exist` header (`where`) sends it."""
    text = value.strip() if isinstance(value, str) else ""
    prefix, has_prefix, rest = text.partition("?")
    if has_prefix and prefix not in {"", resource_type}:
        raise invalid(where, "must search the type being created", "value")
    params = _query(rest if has_prefix else text)
    # One parameter only: a conditional create matches on one identifier (`_raw_matches`).
    if len(params) != 1 or params[0][0] != "identifier" or not params[0][1].strip():
        raise invalid(where, "only one identifier=[system|]value is supported", "not-supported")
    return params


def _refuse_repeats(entries: Sequence[EntryRequest], kind: str) -> None:
    """The same fullUrl twice, or (in a transaction) the same resource changed twice."""
    seen_urls: set[str] = set()
    seen_targets: set[str] = set()
    for entry in entries:
        at = f"Bundle.entry[{entry.index}]"
        if entry.full_url is not None:
            if entry.full_url in seen_urls:
                raise invalid(f"{at}.fullUrl", "the same fullUrl appears twice", "duplicate")
            seen_urls.add(entry.full_url)
        if kind != "transaction" or entry.method not in {Method.PUT, Method.DELETE}:
            continue
        if entry.target in seen_targets:
            problem = "a transaction may change each resource only once"
            raise invalid(f"{at}.request.url", problem, "duplicate")
        seen_targets.add(entry.target)


# --- failures of one entry ---------------------------------------------------------

_MAX_ISSUES = 20
_ISSUE_CODES = {
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    410: "deleted",
    412: "conflict",
}


class BundleEntryError(RecordValidationError):
    """One entry failed: its own HTTP status, with issues naming `Bundle.entry[i]`.

    A transaction answers with it as the single OperationOutcome of the request;
    a batch puts it in that entry's `response.outcome`.
    """

    def __init__(self, entry: EntryRequest, error: CarewallError) -> None:
        issues = relocated(entry, error)
        super().__init__(f"Bundle.entry[{entry.index}]: {error.message}", issues[:_MAX_ISSUES])
        self.cause = error  # as a single interaction would have raised it
        self.index = entry.index
        self.code, self.status = error.code, error.status


class MultipleMatchesError(RecordValidationError):
    """A conditional create's search matched more than one resource (FHIR: 412, issue
    code `multiple-matches`, in a Bundle entry's outcome as in a single create's)."""

    code = "multiple_matches"
    status = 412

    def __init__(self, message: str) -> None:
        super().__init__(message, [Issue("error", "multiple-matches", "", message)])


def relocated(entry: EntryRequest, error: CarewallError) -> list[Issue]:
    """The error's issues, their expressions moved under `Bundle.entry[i]`."""
    at = f"Bundle.entry[{entry.index}]"
    if isinstance(error, RecordValidationError) and error.issues:
        return [_moved(at, entry, issue) for issue in error.issues]
    code = _ISSUE_CODES.get(error.status, "invalid" if error.status < 500 else "exception")
    return [Issue("error", code, at, error.message)]


def _moved(at: str, entry: EntryRequest, issue: Issue) -> Issue:
    expression, resource_type = issue.expression, entry.resource_type
    if expression.startswith("Bundle.entry["):
        return issue
    if expression == resource_type or expression.startswith(
        (f"{resource_type}.", f"{resource_type}[")
    ):
        return replace(issue, expression=f"{at}.resource{expression[len(resource_type) :]}")
    where = f"{at}.request.url" if entry.method is Method.GET else at
    diagnostics = f"{expression}: {issue.diagnostics}" if expression else issue.diagnostics
    return replace(issue, expression=where, diagnostics=diagnostics)
