"""FHIR R4 REST endpoints: thin adapters from HTTP to `records.access` and `records.services`.

Every decision (matrix, compartment, break-glass) and every audit entry is made
by the records domain; a route checks the request's shape, builds the `Caller`,
calls one records function and renders FHIR JSON. Errors reach the global
handler, which answers OperationOutcome under /fhir/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from carewall.core.context import Purpose
from carewall.core.errors import NotFoundError, PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.records.access import (
    SearchPage,
    get_record_for,
    history_page_for,
    search_page_for,
    versions_for,
    vread_for,
)
from carewall.records.access.includes import MAX_INCLUDED
from carewall.records.bundles.conditional_create import conditional_create
from carewall.records.bundles.entries import EntryRequest, if_none_exist_query, read_bundle
from carewall.records.bundles.transactions import EntryResult, process_bundle
from carewall.records.services import create_resource, delete_resource, update_resource
from carewall.web.auth import (
    ALL,
    Caller,
    CheckInThread,
    RuntimeDep,
    require_api,
    require_api_in_thread,
    runtime_of,
)
from carewall.web.fhir import paging
from carewall.web.fhir.capability import capability_statement
from carewall.web.fhir.inputs import (
    SearchRequest,
    bad_request,
    body_of_type,
    check_format,
    check_id,
    check_type,
    element_names,
    history_request,
    if_match,
    purpose_of,
    read_resource,
    return_preference,
    search_form,
    search_request,
    version_number,
)
from carewall.web.fhir.responses import (
    MEDIA_TYPE,
    FhirResponse,
    bundle_entry,
    bundle_response,
    count_only,
    etag,
    history_bundle,
    operation_outcome,
    outcome_response,
    searchset,
    subsetted,
    version_headers,
)

router = APIRouter(prefix="/fhir", include_in_schema=False, dependencies=[Depends(check_format)])
# The read by id alone, matched before any other route of the app: FastAPI tries routes in
# order, and the most frequent request of all would otherwise be checked against every
# FHIR and bulk route ahead of it. Its path takes only a well-formed type and id, so it
# never hides another route (`Patient/$export`, `bulkstatus/...`); any other
# two-segment GET falls through to the same `read` in `router`, whose checks answer it.
# Its format check is made in `read` itself: each dependency FastAPI solves costs about
# 2.5% of a read.
read_router = APIRouter(prefix="/fhir", include_in_schema=False)

# The CapabilityStatement is public by FHIR convention (clients read it before signing in).
PUBLIC_ROUTES = {("GET", "/fhir/metadata"), ("HEAD", "/fhir/metadata")}

# Every role may reach some resource type; the records matrix decides per type and row.
Reader = Annotated[Caller, Depends(require_api(ALL, scope="fhir:read"))]
Writer = Annotated[Caller, Depends(require_api(ALL, scope="fhir:write"))]
# For an async route that does all its work through `CheckInThread.run` (the check, then
# the work, in one thread-pool hop); a route that would not call `run` must take `Reader`.
ReaderInThread = Annotated[CheckInThread, Depends(require_api_in_thread(ALL, scope="fhir:read"))]
Body = Annotated[dict[str, Any], Depends(read_resource)]
# Called by hand for Bundles with read entries: refuses (and audits) a token without fhir:read.
_may_read = require_api(ALL, scope="fhir:read")


def base_url(request: Request) -> str:
    """The service base, e.g. `https://clinic.example/fhir`: from the configured public
    URL, never from the request's Host header (which the client chooses)."""
    return runtime_of(request).settings.public_link("/fhir")


def _self_link(request: Request) -> str:
    """The public URL of this very request (search values and all, as the client sent it)."""
    query = request.url.query
    return runtime_of(request).settings.public_link(
        request.url.path + (f"?{query}" if query else "")
    )


# HEAD too: clients and monitors probe a FHIR base with it before they read anything.
@router.api_route("/metadata", methods=["GET", "HEAD"])
def metadata(request: Request, runtime: RuntimeDep) -> FhirResponse:
    """The CapabilityStatement: types, interactions and search parameters supported."""
    return FhirResponse(capability_statement(base_url(request), runtime.settings))


@router.get("/{resource_type}")
def search(request: Request, resource_type: str, caller: Reader) -> FhirResponse:
    """Type-level search with `_count` paging (a searchset Bundle)."""
    check_type(resource_type)
    asked = search_request(resource_type, request.query_params.multi_items())
    return _search(request, caller, resource_type, asked, _self_link(request))


@router.post("/{resource_type}/_search")
async def search_by_post(request: Request, resource_type: str, caller: Reader) -> FhirResponse:
    """Search with the parameters in a form body, keeping search values out of URLs.

    Only a form body is read (`search_form`: 415 for multipart, JSON or text,
    never "no parameters, so everything").
    """
    check_type(resource_type)
    items = await search_form(request)
    items += request.query_params.multi_items()
    asked = search_request(resource_type, items)
    self_url = f"{base_url(request)}/{resource_type}/_search"
    # The search reads and decrypts: in a worker thread, never in the event loop.
    return await run_in_threadpool(_search, request, caller, resource_type, asked, self_url)


def _search(
    request: Request, caller: Caller, resource_type: str, asked: SearchRequest, self_url: str
) -> FhirResponse:
    runtime = runtime_of(request)
    page = _page(runtime, caller, resource_type, asked)
    purpose = purpose_of(request, caller)
    found = search_page_for(
        runtime, caller, resource_type, page.params, purpose, count=page.count, after=page.after
    )
    return FhirResponse(_searchset(request, caller, resource_type, page, found, self_url))


def _page(
    runtime: Runtime, caller: Caller, resource_type: str, asked: SearchRequest
) -> paging.Page:
    """The page asked for: a fresh search, or where a `_cursor` left off."""
    if asked.cursor is not None:
        return paging.unseal(runtime.keys, caller.user_id, resource_type, asked.cursor)
    return paging.Page(asked.params, asked.count)


def _searchset(
    request: Request,
    caller: Caller,
    resource_type: str,
    page: paging.Page,
    found: SearchPage,
    self_url: str,
) -> dict[str, Any]:
    """One page of a search as a searchset, with a sealed `next` link when more remain,
    shaped as `_summary` and `_elements` ask."""
    links = {"self": self_url}
    if page.params.get("_summary") == ["count"]:
        return count_only(found.total, links)
    if found.next_after is not None:
        following = paging.Page(page.params, page.count, found.next_after)
        cursor = paging.seal(runtime_of(request).keys, caller.user_id, resource_type, following)
        links["next"] = f"{base_url(request)}/{resource_type}?_cursor={cursor}"
    resources = found.resources
    if elements := page.params.get("_elements"):
        resources = [subsetted(r, elements[0].split(",")) for r in resources]
    included = found.included
    notes = []
    if included.withheld:
        notes.append(f"{included.withheld} included resources are not shown: not yours to see.")
    if included.truncated:
        notes.append(f"Included resources stop at {MAX_INCLUDED} per page; page with _count.")
    base = base_url(request)
    return searchset(base, resources, found.total, links, included=included.resources, notes=notes)


@router.post("")
@router.post("/")
def transaction_or_batch(
    request: Request, runtime: RuntimeDep, caller: Writer, body: Body
) -> FhirResponse:
    """A `transaction` (all or nothing) or `batch` (entry by entry) Bundle.

    Each entry is authorised and audited as its single interaction; entries that
    read (GET, `ifNoneExist`), and `Prefer: return=representation`, which reads each
    written resource back, also need the fhir:read scope.
    """
    base = base_url(request)
    asked = read_bundle(body, base, runtime.settings.fhir_bundle_max_entries)
    wanted = return_preference(request)
    if asked.reads or wanted == "representation":
        _may_read(request)  # refused before anything is written

    def search_page(resource_type: str, items: Sequence[tuple[str, str]]) -> paging.Page:
        return _page(runtime, caller, resource_type, search_request(resource_type, list(items)))

    purpose = purpose_of(request, caller)
    done = process_bundle(runtime, caller, asked, purpose, search_page)
    preferred = _preferred(request, caller, purpose, wanted, done.results)
    entries = [
        bundle_entry(
            base,
            result,
            preferred.resources.get(i) or _entry_resource(request, caller, entry, result),
            preferred.outcomes.get(i),
        )
        for i, (entry, result) in enumerate(zip(done.entries, done.results, strict=True))
    ]
    return FhirResponse(bundle_response(done.kind, entries))


def _entry_resource(
    request: Request, caller: Caller, entry: EntryRequest | None, result: EntryResult
) -> dict[str, Any] | None:
    """What a Bundle entry's response carries: the resource read, or a page of a search."""
    if result.page is None or entry is None or entry.query is None:
        return result.resource
    asked = search_request(entry.resource_type, list(entry.query))
    page = _page(runtime_of(request), caller, entry.resource_type, asked)
    self_url = f"{base_url(request)}/{entry.resource_type}/_search"
    return _searchset(request, caller, entry.resource_type, page, result.page, self_url)


@dataclass
class _Preferred:
    """What `Prefer: return=` adds to written entries, by entry index."""

    resources: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)


def _preferred(
    request: Request,
    caller: Caller,
    purpose: Purpose,
    wanted: str | None,
    results: Sequence[EntryResult],
) -> _Preferred:
    """What each written entry carries besides its status, location and ETag, as
    `Prefer: return=` asks (`wanted`): the resource as stored (read back as the caller,
    checked and audited like a vread) or an OperationOutcome.

    Nothing without it, or with `return=minimal`: a load of thousands of entries
    would otherwise read back, decrypt and audit every one for a client that never
    looks (a single create or update answers with the resource by default).
    """
    preferred = _Preferred()
    if wanted not in {"representation", "OperationOutcome"}:
        return preferred
    written = {
        i: result
        for i, result in enumerate(results)
        if result.location and result.version is not None and result.error is None
    }
    if wanted == "OperationOutcome":
        preferred.outcomes = {i: _version_outcome(result) for i, result in written.items()}
    elif written:  # representation
        versions = [
            (result.resource_type or "", result.logical_id or "", result.version or 0)
            for result in written.values()
        ]
        found = versions_for(runtime_of(request), caller, versions, purpose)
        for (i, result), resource in zip(written.items(), found, strict=True):
            if resource is None:
                preferred.outcomes[i] = _version_outcome(result, unreadable=True)
            else:
                preferred.resources[i] = resource
    return preferred


def _version_outcome(result: EntryResult, *, unreadable: bool = False) -> dict[str, Any]:
    """The informational OperationOutcome of a written entry (`return=OperationOutcome`,
    or in place of a resource its writer may not read back)."""
    message = _version_message(
        result.resource_type or "", result.logical_id or "", result.version or 0, unreadable
    )
    return operation_outcome(result.status, message, severity="information")


def _version_message(
    resource_type: str, logical_id: str, version: int, unreadable: bool = False
) -> str:
    """What a write did, said in place of the resource (`return=OperationOutcome`, or a
    resource its writer may not read back)."""
    said = f"{resource_type}/{logical_id} is at version {version}."
    if unreadable:
        # An integration feed writes into a restricted compartment but may not read it
        # (`records.access.guard`): the write stands; say so instead of a 403.
        said += " It is in a restricted record, which this account may write but not read back."
    return said


@router.post("/{resource_type}")
def create(
    request: Request, runtime: RuntimeDep, resource_type: str, caller: Writer, body: Body
) -> Response:
    """Create with a server-assigned id: 201, Location and ETag.

    With `If-None-Exist: identifier=[system|]value` it is a conditional create:
    200 and the resource if exactly one matches, 412 if several do, a create
    otherwise. Its search reads, so it also needs the fhir:read scope.
    """
    check_type(resource_type)
    resource = {k: v for k, v in body_of_type(body, resource_type).items() if k != "id"}
    condition = request.headers.get("if-none-exist")
    if condition is None:
        meta = create_resource(runtime, caller, resource)
        return _written(request, caller, meta, 201)
    query = if_none_exist_query("If-None-Exist", resource_type, condition)
    _may_read(request)
    purpose = purpose_of(request, caller)
    done = conditional_create(runtime, caller, resource, query, base_url(request), purpose)
    meta = {"resourceType": resource_type, "id": done.logical_id, "versionId": done.version}
    return _written(request, caller, meta, done.status)


@router.get("/{resource_type}/{logical_id}/_history/{version}")
def vread(
    request: Request,
    runtime: RuntimeDep,
    resource_type: str,
    logical_id: str,
    version: str,
    caller: Reader,
) -> FhirResponse:
    """One version of a resource (410 for the deletion)."""
    check_type(resource_type)
    check_id(resource_type, logical_id)
    number = version_number(version)
    if number is None:
        raise NotFoundError(f"{resource_type}/{logical_id} has no such version.")
    elements = _read_elements(request, resource_type)
    purpose = purpose_of(request, caller)
    resource = vread_for(runtime, caller, resource_type, logical_id, number, purpose)
    return _version_response(resource, elements)


@router.get("/{resource_type}/{logical_id}/_history")
def history(
    request: Request, runtime: RuntimeDep, resource_type: str, logical_id: str, caller: Reader
) -> FhirResponse:
    """The versions of one resource, newest first (a history Bundle): `_since` keeps those
    written at or after an instant, `_count` pages them (a sealed `next` link, as search's);
    any other parameter is refused with 400."""
    check_type(resource_type)
    check_id(resource_type, logical_id)
    asked = history_request(request.query_params.multi_items())
    bound = f"{resource_type}/{logical_id}/_history"  # a cursor opens for this history only
    if asked.cursor is not None:
        page = paging.unseal(runtime.keys, caller.user_id, bound, asked.cursor)
        since = datetime.fromisoformat(page.params["_since"][0]) if page.params else None
        count, before = page.count, int(page.after)
    else:
        since, count, before = asked.since, asked.count, None
    purpose = purpose_of(request, caller)
    found = history_page_for(
        runtime,
        caller,
        resource_type,
        logical_id,
        purpose,
        since=since,
        count=count,
        before=before,
    )
    links = {"self": _self_link(request)}
    if found.next_before is not None:
        params = {"_since": [since.isoformat()]} if since is not None else {}
        following = paging.Page(params, count, str(found.next_before))
        cursor = paging.seal(runtime.keys, caller.user_id, bound, following)
        links["next"] = f"{base_url(request)}/{bound}?_cursor={cursor}"
    bundle = history_bundle(
        base_url(request),
        resource_type,
        logical_id,
        [(e.version, e.last_updated, e.resource) for e in found.entries],
        links,
        total=found.total,
    )
    return FhirResponse(bundle)


@read_router.get("/{resource_type:fhir_type}/{logical_id:fhir_id}")
@router.get("/{resource_type}/{logical_id}")
async def read(
    request: Request, resource_type: str, logical_id: str, reader: ReaderInThread
) -> FhirResponse:
    """The current version, with ETag and Last-Modified. The most frequent request of all:
    the caller's check and the read share one hop to the thread pool (`CheckInThread`),
    and the runtime is read off the request rather than solved as one more dependency."""
    await check_format(request)  # `router` checked it already; `read_router` has not
    runtime = runtime_of(request)
    return await reader.run(partial(_read, request, runtime, resource_type, logical_id))


def _read(
    request: Request, runtime: Runtime, resource_type: str, logical_id: str, caller: Caller
) -> FhirResponse:
    check_type(resource_type)
    check_id(resource_type, logical_id)
    elements = _read_elements(request, resource_type)
    purpose = purpose_of(request, caller)
    resource = get_record_for(runtime, caller, resource_type, logical_id, purpose)
    return _version_response(resource, elements)


# What a read or vread takes in its query (`_format` is checked for every FHIR request).
READ_PARAMS = frozenset({"_elements", "_format"})


def _read_elements(request: Request, resource_type: str) -> list[str] | None:
    """The `_elements` of a read or vread (checked as a search's), or None: FHIR allows it on
    reads too. A read without a query string never parses one (the hot path)."""
    if not request.scope.get("query_string"):
        return None
    for name in request.query_params:
        if name not in READ_PARAMS:  # refused, as a search refuses what it cannot honour
            raise bad_request(name[:64], "not a parameter of a read (_elements)", "not-supported")
    asked = request.query_params.getlist("_elements")
    if not asked:
        return None
    if len(asked) > 1:
        raise bad_request("_elements", "give it once")
    return element_names(resource_type, asked[0])


def _version_response(resource: dict[str, Any], elements: list[str] | None) -> FhirResponse:
    """A version as read, with its ETag and Last-Modified, subsetted when `_elements` asked."""
    headers = version_headers(resource)
    return FhirResponse(subsetted(resource, elements) if elements else resource, headers=headers)


@router.put("/{resource_type}/{logical_id}")
def update(
    request: Request,
    runtime: RuntimeDep,
    resource_type: str,
    logical_id: str,
    caller: Writer,
    body: Body,
) -> Response:
    """Update (or create with this id); `If-Match: W/"n"` makes it conditional (412)."""
    check_type(resource_type)
    resource = body_of_type(body, resource_type)
    if resource.get("id") != logical_id:
        raise bad_request("id", "must be the id in the URL", "value")
    version = if_match(request)
    meta = update_resource(runtime, caller, resource, if_match=version)
    created = meta["changed"] and meta["versionId"] == 1
    return _written(request, caller, meta, 201 if created else 200)


@router.delete("/{resource_type}/{logical_id}")
def delete(
    request: Request, runtime: RuntimeDep, resource_type: str, logical_id: str, caller: Writer
) -> Response:
    """Soft delete: history keeps the earlier versions; reads answer 410 afterwards. A
    delete of a deleted resource changes nothing and answers 200 (FHIR R4)."""
    check_type(resource_type)
    check_id(resource_type, logical_id)
    meta = delete_resource(runtime, caller, resource_type, logical_id)
    done = "deleted" if meta["changed"] else "was deleted already"
    response = outcome_response(
        200, f"{resource_type}/{logical_id} {done}.", severity="information"
    )
    response.headers["ETag"] = etag(meta["versionId"])
    return response


def _written(request: Request, caller: Caller, meta: dict[str, Any], status: int) -> Response:
    """The answer to a create or update, as `Prefer: return=...` asks (default: the resource)."""
    resource_type, logical_id, version = meta["resourceType"], meta["id"], meta["versionId"]
    headers = {
        "ETag": etag(version),
        "Location": f"{base_url(request)}/{resource_type}/{logical_id}/_history/{version}",
    }
    wanted = return_preference(request)
    if wanted == "minimal":
        return Response(status_code=status, headers=headers, media_type=MEDIA_TYPE)
    if wanted == "OperationOutcome":
        message = _version_message(resource_type, logical_id, version)
        response = outcome_response(status, message, severity="information")
        response.headers.update(headers)
        return response
    purpose = purpose_of(request, caller)
    try:
        resource = vread_for(
            runtime_of(request), caller, resource_type, logical_id, version, purpose
        )
    except PermissionDeniedError:
        message = _version_message(resource_type, logical_id, version, unreadable=True)
        response = outcome_response(status, message, severity="information")
        response.headers.update(headers)
        return response
    return FhirResponse(resource, status, headers={**headers, **version_headers(resource)})
