"""FHIR Bulk Data export (Bulk Data Access IG v2): kick-off, status, files, cancel.

Thin, like the other FHIR routes: the kick-off checks the request's shape
(`Prefer: respond-async`, `_type`, `_since`, `_outputFormat`, `_typeFilter`),
from the query of a GET or the `Parameters` body of a POST, and calls
`records.bulk.start_export`, which decides who may export and what (and audits
it). How strict, and why: the IG requires `Prefer: respond-async`, and this
server refuses a kick-off without it (400) rather than guess that a client
which did not ask for asynchronous processing can follow a status URL; an
`_outputFormat` other than NDJSON is refused (400); a `_typeFilter` is a search
of one type with the parameters that type's search takes (`Type?param=value`,
no result parameters), anything else in it is refused (400); parameters it
does not implement (`_elements`, `patient`, `includeAssociatedData`) are
refused with 400, never silently ignored into a larger export than was asked
for. Status, files and cancel answer only the requester; anyone else gets 404.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from carewall.core.errors import CarewallError, NotFoundError
from carewall.identity import signin
from carewall.records import SUPPORTED_TYPES
from carewall.records.bulk import (
    ExportRequest,
    ExportStatus,
    Level,
    Scope,
    TypeFilter,
    cancel_export,
    download_file,
    export_status,
    start_export,
)
from carewall.web.auth import ALL, Caller, RuntimeDep, active_session, require_api, runtime_of
from carewall.web.fhir.capability import RESULT_PARAMS, SHAPING_PARAMS
from carewall.web.fhir.inputs import (
    BadRequestError,
    bad_request,
    check_format,
    check_id,
    check_type,
    read_resource,
    search_request,
    since_instant,
)
from carewall.web.fhir.responses import outcome_response

router = APIRouter(prefix="/fhir", include_in_schema=False)

Reader = Annotated[Caller, Depends(require_api(ALL, scope="fhir:read"))]
FhirJson = [Depends(check_format)]

NDJSON = "application/fhir+ndjson"
_OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
_KNOWN = frozenset({"_type", "_since", "_outputFormat", "_typeFilter"})
# A `Parameters` body's value element for each kick-off parameter (Bulk Data IG v2).
_VALUE_OF = {
    "_type": "valueString",
    "_since": "valueInstant",
    "_outputFormat": "valueString",
    "_typeFilter": "valueString",
}
# Where one `_typeFilter` value ends and the next begins in a comma-separated list: a comma
# followed by the next query's resource type and `?` (commas inside a query are its ORs).
_NEXT_FILTER = re.compile(r",(?=[A-Z][A-Za-z]*\?)")
# Export and file ids are UUIDs made by `core.db.new_id`; anything else names nothing.
_EXPORT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A FHIR instant: date, time to the second (fraction optional), and a zone.


@router.get("/$export", dependencies=FhirJson)
@router.post("/$export", dependencies=FhirJson)
async def export_system(request: Request, runtime: RuntimeDep, caller: Reader) -> Response:
    """System-level export: every resource the caller may read."""
    return await _kick_off(request, caller, Scope(Level.SYSTEM))


@router.get("/Patient/$export", dependencies=FhirJson)
@router.post("/Patient/$export", dependencies=FhirJson)
async def export_patients(request: Request, runtime: RuntimeDep, caller: Reader) -> Response:
    """Patient-level export: every resource in any patient's compartment the caller may read."""
    return await _kick_off(request, caller, Scope(Level.PATIENTS))


@router.get("/Patient/{patient_id}/$export", dependencies=FhirJson)
@router.post("/Patient/{patient_id}/$export", dependencies=FhirJson)
async def export_patient(
    request: Request, runtime: RuntimeDep, patient_id: str, caller: Reader
) -> Response:
    """One patient's compartment (a patient: only their own, from the portal or a token)."""
    check_id("Patient", patient_id)
    return await _kick_off(request, caller, Scope(Level.PATIENT, patient_id))


@router.get("/Group/{group_id}/$export", dependencies=FhirJson)
@router.post("/Group/{group_id}/$export", dependencies=FhirJson)
async def export_group(
    request: Request, runtime: RuntimeDep, group_id: str, caller: Reader
) -> Response:
    """The compartments of a stored Group's Patient members, as a Patient-level export."""
    check_id("Group", group_id)
    return await _kick_off(request, caller, Scope(Level.GROUP, group_id=group_id))


async def _kick_off(request: Request, caller: Caller, scope: Scope) -> Response:
    """Check the request's shape (GET query or POST `Parameters`), then start the export
    in a worker thread (it reads and writes the database)."""
    if "respond-async" not in request.headers.get("prefer", ""):
        raise bad_request("Prefer", "a Bulk Data kick-off needs 'Prefer: respond-async'")
    items = await _items(request)
    return await run_in_threadpool(_start, request, caller, scope, items)


def _start(
    request: Request, caller: Caller, scope: Scope, items: list[tuple[str, str]]
) -> Response:
    runtime = runtime_of(request)
    types, since, filters = _parameters(items)
    scope = Scope(scope.level, scope.patient_id, since, scope.group_id, filters)
    asked = ExportRequest(scope, types, runtime.settings.public_link(_path_and_query(request)))
    export_id = start_export(runtime, caller, asked, stepped_up=_stepped_up(request, caller))
    response = outcome_response(202, "The export was queued.", severity="information")
    response.headers["Content-Location"] = runtime.settings.public_link(
        f"/fhir/bulkstatus/{export_id}"
    )
    return response


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _stepped_up(request: Request, caller: Caller) -> bool:
    """A browser session whose second factor is fresh; an API token never is."""
    if caller.session_id is None:
        return False
    return signin.step_up_fresh(runtime_of(request), active_session(request))


async def _items(request: Request) -> list[tuple[str, str]]:
    """The kick-off parameters: a GET's query (`_format` aside), or a POST's `Parameters`
    body (its query may hold `_format` only: parameters come in one place)."""
    query = [(n, v) for n, v in request.query_params.multi_items() if n != "_format"]
    if request.method == "GET":
        return query
    if query:
        raise bad_request(query[0][0][:64], "a POST kick-off takes its parameters in the body")
    return _from_parameters(await read_resource(request))


def _from_parameters(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs of a `Parameters` resource, each value of its IG type."""
    if body.get("resourceType") != "Parameters":
        raise bad_request("resourceType", "a POST kick-off sends a Parameters resource", "value")
    entries = body.get("parameter") or []
    if not isinstance(entries, list):
        raise bad_request("Parameters.parameter", "must be a list", "structure")
    items = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise bad_request(f"Parameters.parameter[{i}]", "needs a name", "structure")
        if name not in _VALUE_OF:
            raise bad_request(name[:64], "this export parameter is not supported", "not-supported")
        value = entry.get(_VALUE_OF[name])
        if not isinstance(value, str):
            raise bad_request(name, f"give it as {_VALUE_OF[name]}", "value")
        items.append((name, value))
    return items


def _parameters(
    items: list[tuple[str, str]],
) -> tuple[tuple[str, ...], datetime | None, tuple[TypeFilter, ...]]:
    """`_type`, `_since`, `_outputFormat` and `_typeFilter`, checked; anything else is
    refused."""
    for name, _ in items:
        if name not in _KNOWN:
            raise bad_request(name[:64], "this export parameter is not supported", "not-supported")
    fmt = [v for n, v in items if n == "_outputFormat"]
    if any(v.strip() not in _OUTPUT_FORMATS for v in fmt):
        raise bad_request("_outputFormat", f"only {NDJSON} is produced", "not-supported")
    types = _types([v for n, v in items if n == "_type"])
    filters = _type_filters([v for n, v in items if n == "_typeFilter"], types)
    return types, since_instant([v for n, v in items if n == "_since"]), filters


def _type_filters(values: list[str], types: tuple[str, ...]) -> tuple[TypeFilter, ...]:
    """Each `_typeFilter` (`Type?param=value&...`, repeated or comma-separated): a search
    of a served type (one of `_type`, when given) with that type's search parameters."""
    found: list[TypeFilter] = []
    for value in values:
        for text in _NEXT_FILTER.split(value.strip()):
            resource_type, mark, query = text.partition("?")
            if not mark or not query:
                raise bad_request("_typeFilter", "give a search as Type?param=value")
            try:
                check_type(resource_type)
            except CarewallError:
                raise bad_request("_typeFilter", f"{resource_type[:64]!r} is not served") from None
            if types and resource_type not in types:
                raise bad_request("_typeFilter", f"{resource_type} is not one of _type")
            found.append(TypeFilter(resource_type, _filter_params(resource_type, query)))
    return tuple(found)


def _filter_params(resource_type: str, query: str) -> dict[str, list[str]]:
    """The search parameters of one `_typeFilter`, checked as a search of the type is."""
    items = parse_qsl(query, keep_blank_values=True)
    for name, _ in items:
        if name in RESULT_PARAMS | SHAPING_PARAMS:
            problem = f"{name[:64]} shapes a search's results; a filter only selects"
            raise bad_request("_typeFilter", problem, "not-supported")
    try:
        return search_request(resource_type, items).params
    except BadRequestError as refused:
        first = refused.issues[0]
        raise bad_request(
            "_typeFilter", f"{first.expression}: {first.diagnostics}", first.code
        ) from None


def _types(values: list[str]) -> tuple[str, ...]:
    asked: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name not in SUPPORTED_TYPES:
                raise bad_request("_type", f"{name[:64]!r} is not a supported resource type")
            if name not in asked:
                asked.append(name)
    return tuple(asked)


@router.get("/bulkstatus/{export_id}", dependencies=FhirJson)
def export_status_of(runtime: RuntimeDep, export_id: str, caller: Reader) -> Response:
    """202 with `Retry-After` while running, the manifest when done, an error if it failed."""
    _check_ids(export_id)
    state = export_status(runtime, caller, export_id)
    if state.status in {"queued", "running"}:
        progress = "queued" if state.status == "queued" else f"{state.resources} resources"
        retry = str(runtime.settings.jobs_tick_seconds)
        return Response(status_code=202, headers={"Retry-After": retry, "X-Progress": progress})
    if state.status == "failed":
        return outcome_response(422, f"The export failed: {state.error}")
    # The manifest is the Bulk Data IG's own JSON, not a FHIR resource: application/json.
    return JSONResponse(_manifest(runtime.settings.public_link("/fhir"), state), 200)


def _check_ids(*ids: str) -> None:
    """404 for an id no export or file can have (before it reaches the database, which
    may refuse odd bytes such as NUL with an error of its own)."""
    if not all(_EXPORT_ID.fullmatch(i) for i in ids):
        raise NotFoundError("No such export (it may have expired or been cancelled).")


def _manifest(base: str, state: ExportStatus) -> dict[str, Any]:
    """The completion manifest: one output entry per file, each to be fetched with the
    requester's token (`requiresAccessToken`)."""
    when = state.transaction_time
    output = [
        {"type": f.resource_type, "url": f"{base}/bulkfiles/{state.id}/{f.id}", "count": f.count}
        for f in state.files
    ]
    return {
        "transactionTime": _instant(when) if when else None,
        "request": state.request_url,
        "requiresAccessToken": True,
        "output": output,
        "error": [],
    }


def _instant(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.delete("/bulkstatus/{export_id}", dependencies=FhirJson)
def export_cancel(runtime: RuntimeDep, export_id: str, caller: Reader) -> Response:
    """Cancel the export and delete its files (202, as the IG says)."""
    _check_ids(export_id)
    cancel_export(runtime, caller, export_id)
    return outcome_response(202, "The export was cancelled.", severity="information")


@router.get("/bulkfiles/{export_id}/{file_id}")
def export_file(runtime: RuntimeDep, export_id: str, file_id: str, caller: Reader) -> Response:
    """One NDJSON file of a finished export, to its requester only."""
    _check_ids(export_id, file_id)
    body = download_file(runtime, caller, export_id, file_id)
    return Response(body, media_type=NDJSON)
