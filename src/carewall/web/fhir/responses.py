"""FHIR wire format: the `application/fhir+json` response, OperationOutcome, Bundles, ETags.

Error texts come from domain errors, whose messages name resource types, ids
and field paths only (never values), so they are safe to return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from carewall.records import Issue
from carewall.records.bundles.transactions import EntryResult
from carewall.records.store.validation import mandatory_elements

MEDIA_TYPE = "application/fhir+json"

# HTTP status -> OperationOutcome.issue.code (http://hl7.org/fhir/issue-type).
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


class FhirResponse(JSONResponse):
    """JSON rendered with the FHIR media type."""

    media_type = MEDIA_TYPE


def operation_outcome(
    status: int, message: str, issues: Sequence[Issue] = (), *, severity: str = "error"
) -> dict[str, Any]:
    """An OperationOutcome: the given issues, or one issue coded from the HTTP status."""
    if issues:
        listed = [issue.as_fhir() for issue in issues]
    else:
        code = _ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
        if status < 300 and severity == "information":
            code = "informational"
        listed = [{"severity": severity, "code": code, "diagnostics": message}]
    for item in listed:
        if not item.get("expression"):
            item.pop("expression", None)
    return {"resourceType": "OperationOutcome", "issue": listed}


def outcome_response(
    status: int, message: str, issues: Sequence[Issue] = (), *, severity: str = "error"
) -> FhirResponse:
    """An error (or information) as an OperationOutcome with its HTTP status."""
    return FhirResponse(operation_outcome(status, message, issues, severity=severity), status)


def etag(version: int | str) -> str:
    """The weak ETag of a resource version, as FHIR servers send it."""
    return f'W/"{version}"'


def version_headers(resource: dict[str, Any]) -> dict[str, str]:
    """ETag and Last-Modified from a stored resource's meta."""
    meta = resource.get("meta") or {}
    headers = {}
    if meta.get("versionId"):
        headers["ETag"] = etag(meta["versionId"])
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = http_date(meta["lastUpdated"])
    return headers


def http_date(instant: str | datetime) -> str:
    """An RFC 9110 date from a FHIR instant (or a datetime)."""
    moment = instant
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return format_datetime(moment, usegmt=True)


def searchset(
    base: str,
    resources: Iterable[dict[str, Any]],
    total: int,
    links: dict[str, str],
    *,
    included: Iterable[dict[str, Any]] = (),
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """A searchset Bundle with `total` and paging links (self, next): the matches, then
    the included resources (search mode `include`), then an OperationOutcome entry
    (mode `outcome`) carrying `notes` as warnings, when there are any."""
    entries = [_entry(base, r, "match") for r in resources]
    entries += [_entry(base, r, "include") for r in included]
    if notes:
        warnings = [
            {"severity": "warning", "code": "informational", "diagnostics": n} for n in notes
        ]
        outcome = {"resourceType": "OperationOutcome", "issue": warnings}
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": rel, "url": url} for rel, url in links.items()],
        "entry": entries,
    }


def _entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def count_only(total: int, links: dict[str, str]) -> dict[str, Any]:
    """The answer to `_summary=count`: a searchset with the total and no entries."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": rel, "url": url} for rel, url in links.items()],
    }


# FHIR marks a resource returned with elements left out (`_elements`) with this tag.
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
# Elements `_elements` always keeps: what makes a resource a resource.
_KEPT = frozenset({"resourceType", "id", "meta"})


def subsetted(resource: dict[str, Any], elements: Iterable[str]) -> dict[str, Any]:
    """The resource with only the named top-level elements (plus type, id, meta and the
    elements FHIR makes mandatory, as FHIR asks, so it still validates), its meta tagged
    SUBSETTED. A name matches `value[x]` choices too (`effective` keeps
    `effectiveDateTime`)."""
    wanted = set(elements) | mandatory_elements(str(resource["resourceType"]))
    kept = {
        key: value
        for key, value in resource.items()
        if key in _KEPT or key in wanted or any(_is_choice(key, w) for w in wanted)
    }
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def _is_choice(key: str, name: str) -> bool:
    """Whether `key` is a typed form of the choice element `name` (`effectiveDateTime`)."""
    return key.startswith(name) and key[len(name) : len(name) + 1].isupper()


def history_bundle(
    base: str,
    resource_type: str,
    logical_id: str,
    entries: Iterable[tuple[int, datetime, dict[str, Any] | None]],
    links: dict[str, str],
    *,
    total: int,
) -> dict[str, Any]:
    """A history Bundle: newest first, deletions as DELETE entries without a resource;
    `total` counts every version the history matches, `links` are self (and next)."""
    listed = []
    for version, last_updated, resource in entries:
        url = f"{resource_type}/{logical_id}"
        if resource is None:
            method, status = "DELETE", "204"
        else:
            method, status = ("POST", "201") if version == 1 else ("PUT", "200")
        entry: dict[str, Any] = {
            "fullUrl": f"{base}/{url}",
            "request": {"method": method, "url": url},
            "response": {
                "status": status,
                "etag": etag(version),
                "lastModified": last_updated.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
            },
        }
        if resource is not None:
            entry["resource"] = resource
        listed.append(entry)
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": total,
        "link": [{"relation": rel, "url": url} for rel, url in links.items()],
        "entry": listed,
    }


def status_line(status: int) -> str:
    """`201 Created`: a Bundle entry's `response.status`."""
    return f"{status} {HTTPStatus(status).phrase}"


def bundle_entry(
    base: str,
    result: EntryResult,
    resource: dict[str, Any] | None,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of a transaction-response or batch-response Bundle.

    Writes name the new version (`location`, `etag`, `lastModified`); reads carry
    `resource` (a searchset Bundle for a search), and so do writes whose client asked
    for them; failures carry `outcome`, and so do writes given an informational one.
    """
    response: dict[str, Any] = {"status": status_line(result.status)}
    named = f"{result.resource_type}/{result.logical_id}" if result.logical_id else None
    if named and result.location and result.version is not None:
        response["location"] = f"{named}/_history/{result.version}"
    if result.version is not None:
        response["etag"] = etag(result.version)
    if result.last_modified:
        response["lastModified"] = result.last_modified
    if result.error is not None:
        error = result.error
        response["outcome"] = operation_outcome(error.status, error.message, error.issues)
    elif outcome is not None:
        response["outcome"] = outcome
    entry: dict[str, Any] = {}
    if named:
        entry["fullUrl"] = f"{base}/{named}"
    if resource is not None:
        entry["resource"] = resource
    entry["response"] = response
    return entry


def bundle_response(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The `transaction-response` or `batch-response` Bundle, entries in the request's order."""
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": entries}
