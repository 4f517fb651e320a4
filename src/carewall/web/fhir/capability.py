"""What the FHIR API supports, in one table: the CapabilityStatement and the search checks.

Search runs on keyed HMAC blind indexes (`records.store.search`), so every
parameter matches a normalised value exactly, except the name parameters,
which match the beginning of a name (FHIR's default for strings) through
prefix terms, `phonetic` (Soundex), and the date ranges of `_lastUpdated` (a
plain column) and of each type's clinical date (day, month, year and decade
bucket terms, `records.store.dates`): no `:contains`. A
parameter is listed for a type only where the vault indexes the field that
FHIR's parameter of that name searches (`identifier` only on types whose model
has one), and `patient`/`subject` on every type but Patient: they select the
compartment, which holds any resource naming the patient. Anything else is
refused with 400 rather than silently ignored. The types are the vault's
(`records.SUPPORTED_TYPES`) and the Bundle limits the configured ones, so a
test can compare this statement with the code's tables.
"""

from __future__ import annotations

from typing import Any

from carewall import __version__
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.records import SUPPORTED_TYPES
from carewall.records.store.dates import DATE_PARAMS
from carewall.records.store.includes import INCLUDES
from carewall.records.store.resource_types import WITHOUT_IDENTIFIER

INTERACTIONS = ("read", "vread", "update", "delete", "history-instance", "search-type", "create")
# Whole-system interactions: Bundles POSTed to the base URL.
SYSTEM_INTERACTIONS = ("transaction", "batch")
# Result parameters understood on every search besides the type's search parameters.
RESULT_PARAMS = frozenset({"_count", "_cursor", "_format"})
# Result parameters that shape the page: checked by the web layer, carried in the cursor.
SHAPING_PARAMS = frozenset({"_sort", "_include", "_revinclude", "_elements", "_summary"})
DEFAULT_COUNT = 50
MAX_COUNT = 200

_EXACT = (
    "Exact match on the normalised value (case, accents and spacing ignored): records are "
    "encrypted and searched through keyed blind indexes, so partial matches, modifiers and "
    "prefixes are not supported."
)
_PREFIX = (
    "Matches names that begin with the value (at least 2 letters; case, accents and spacing "
    "ignored; only the first 12 characters are compared); `:exact` matches the whole "
    "normalised name. No `:contains`: records are encrypted and searched through keyed "
    "blind indexes."
)
_PARAMS: dict[str, tuple[str, str]] = {
    "_id": ("token", "Logical id, exact."),
    "identifier": (
        "token",
        "`value` or `system|value`. Exact match on the value as written (case and accents "
        "count; only the spaces around it are trimmed), as FHIR matches identifiers and as "
        "conditional creates and references need (a record number `ab-12` is not `AB-12`). "
        "Records are encrypted and searched through keyed blind indexes: no partial match, "
        "modifier or prefix.",
    ),
    "family": ("string", f"A family name. {_PREFIX}"),
    "given": ("string", f"A given name. {_PREFIX}"),
    "name": ("string", f"A family or given name (`:exact` also the name's text). {_PREFIX}"),
    "phonetic": ("string", "A family or given name that sounds alike (American Soundex)."),
    "phone": ("token", "A phone number, digits compared only. Exact."),
    "email": ("token", f"An email address. {_EXACT}"),
    "patient": ("reference", "`Patient/id` or `id`: the patient's compartment. Exact."),
    "subject": ("reference", "Same as `patient`: the patient's compartment. Exact."),
    "code": (
        "token",
        "`code`, `system|code`, `system|` (any code of the system) or `|code` (a code "
        f"without a system) of the resource's main code. {_EXACT}",
    ),
    "_lastUpdated": (
        "date",
        "When the server last wrote the resource; prefixes eq, lt, le, gt, ge, sa, eb, at the "
        "precision written (a date, or a time with seconds; no zone means UTC). Give it twice "
        "for a range.",
    ),
}
_DATE_DOC = (
    "The clinical date (Patient: the birth date): prefixes eq, lt, le, gt, ge, sa, eb "
    "with YYYY, YYYY-MM or YYYY-MM-DD (compared with the date as written, in its own "
    "time zone, through keyed "
    "blind indexes of its day, month, year and decade), or with a time of day "
    "YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm] (that instant at its precision, no zone meaning "
    "UTC, against each date's own instant or day: the candidates of the days around it "
    "are decrypted and compared, at most 1000, otherwise 400 asking for a narrower "
    "search). Any other prefix (ne, ap) or form is refused with 400. Give it twice for a "
    "range. Ranges follow "
    "FHIR's rules for the implicit range of each value and date (a day, a month, a "
    "year), a Period being the range it spans from its start to its end (either open "
    "when missing, and a start before 1800 or an end after 2199, such as 9999-12-31, "
    "counting as open): eq finds a date inside the value's range, gt/lt one that overlaps the "
    "range after/before the value, ge/le also one inside the value, sa/eb one wholly "
    "after/before it."
)

_BUNDLES = (
    "Transaction and batch Bundles are POSTed to the base URL (at most "
    "{max_entries} entries, and a work budget of {budget}: each search entry counts its page "
    "size, a conditional create two, any other entry one; scope fhir:write, and fhir:read as "
    "well when an entry reads or the client asks for the written resources back). "
    "Entries use GET (read, search), POST (create; `ifNoneExist` with one `identifier` "
    'makes it conditional), PUT (update or create with an id; `ifMatch` W/"n") and '
    "DELETE; PATCH, conditional update and delete and nested Bundles are refused with 400. "
    "A transaction resolves conditional references of the form `Type?identifier=[system|]value` "
    "to the one resource they match (in the Bundle or, searched as the caller, on the "
    "server; none or several fail the transaction); a batch refuses them, entry by entry. "
    "Each entry is authorised and audited like the single "
    "interaction. A transaction runs in FHIR's order (DELETE, POST, PUT, GET) in one "
    "database transaction: any failure rolls back everything and answers with that "
    "entry's status and an OperationOutcome naming `Bundle.entry[i]`; `urn:uuid:` "
    "fullUrls of created resources get server ids and references to them are rewritten. "
    "A batch runs each entry on its own; failures are reported in the entry's response. "
    "A written entry answers with its status, location, ETag and lastModified; with "
    "`Prefer: return=representation` it also carries the resource as stored (read back as "
    "the caller, checked and audited like a vread; a resource the caller may write but not "
    "read says so in an informational outcome instead), with `return=OperationOutcome` an "
    "informational outcome. A single create or update answers with the resource unless "
    "`Prefer: return=minimal` or `return=OperationOutcome` says otherwise."
)
_RESULTS = (
    "Parameters combine with AND; a parameter given more than once must match each time "
    "(AND, e.g. `date=ge2020&date=lt2021`), and a comma-separated list in one value matches "
    "any of its values (OR). "
    "`_sort` takes one of `_lastUpdated`, `-_lastUpdated` (paged in the database) or, for "
    "types with a date parameter (a clinical date, or Patient's birth date), `date`/`-date` "
    "(sorted after decryption by each date's first instant in UTC, whatever zone it was "
    "written in; a Period by its start, or its end when it has none: at most 1000 "
    "matches, otherwise 400 asking for a narrower search; undated last). "
    "`_summary=count` answers the total only; `_elements` keeps the listed top-level "
    "elements (tagged SUBSETTED), on searches and on read and vread alike. "
    "`_include` and `_revinclude` take the values listed per type; each included resource "
    "is checked and audited like a read, those the caller may not see are left out (an "
    "OperationOutcome entry counts them), at most 100 per page. Unknown parameters and "
    "unsupported values are refused with 400 whatever "
    "`Prefer: handling` says."
)
_VERSIONS = (
    "Each version is authorised against the patient it names: vread of a version of "
    "another patient's (or a restricted) compartment is refused like a read, and "
    "history lists only the versions the caller may see (refused like a read when "
    "none is). History takes `_since` (an instant: versions written at or after it) and "
    "`_count` (a page, newest first, with a `next` link as search's); `_at` and any other "
    "parameter are refused with 400. References to this server are stored canonical: `Type/id` (a "
    "version-specific `Type/id/_history/n` keeps its version), this server's "
    "absolute URL made relative; any other spelling of a reference to a local "
    "Patient (case, spaces, query, fragment, conditional, bare id in a "
    "compartment field) is refused with 422, and a resource names at most one "
    "patient. Absolute URLs of other servers are external references. A conditional "
    "create (`ifNoneExist`) that matches a restricted record the caller may not see is "
    "refused with 403 (and audited), never answered by creating a duplicate. A single "
    "create takes the same condition as an If-None-Exist header (one "
    "`identifier=[system|]value`; anything else is refused with 400, not ignored): 201 "
    "when nothing matches, 200 and the match when one does, 412 when several do. "
    "Writes are validated against R4: the JSON type of every primitive, and every `code` "
    "element FHIR binds with strength required to a value set that lists its codes "
    "(e.g. `Observation.status`, `Patient.gender`, `Identifier.use`): any other code is "
    "refused with 422 `code-invalid`. Not checked: required bindings of CodeableConcept "
    "and Coding elements, and the value sets that are whole external code systems "
    "(MIME types, currencies, confidentiality)."
)
_PEOPLE = frozenset({"Patient", "Practitioner"})
# Types whose FHIR `code` parameter searches a field the vault indexes as `code`.
_CODED = frozenset(
    {
        "AllergyIntolerance",
        "Condition",
        "DiagnosticReport",
        "MedicationRequest",
        "Observation",
        "Procedure",
    }
)
# Every type is searched by compartment (`patient`, `subject`): a resource of any type that
# names a patient is in that patient's compartment (`records.store.compartments`), whether
# or not FHIR's Patient compartment lists its type. A Patient is found by `_id`.
_OWN_COMPARTMENT = frozenset({"Patient"})


def search_params(resource_type: str) -> frozenset[str]:
    """The search parameters `resource_type` supports (besides the result parameters)."""
    params = {"_id"}
    if resource_type not in WITHOUT_IDENTIFIER:
        params.add("identifier")
    if resource_type in _PEOPLE:
        params |= {"family", "given", "name", "phonetic", "phone", "email"}
    if resource_type in _CODED:
        params.add("code")
    if resource_type not in _OWN_COMPARTMENT:
        params |= {"patient", "subject"}
    if (date := date_param(resource_type)) is not None:
        params.add(date)
    params.add("_lastUpdated")
    return frozenset(params)


# FHIR Bulk Data Access (IG v2): `$export` at system level, on Patient at type and instance
# level (a patient's own compartment), and on a stored Group (its Patient members).
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
_EXPORT_DOC = (
    "Needs `Prefer: respond-async`; GET with the parameters in the query, or POST with a "
    "Parameters resource. `_type`, `_since` (an instant), `_outputFormat` "
    "(application/fhir+ndjson only; anything else is 400) and `_typeFilter` (`Type?query` "
    "with that type's search parameters, repeated or comma-separated: a type with filters "
    "exports what any of them matches) only; other parameters are 400. Integration tokens "
    "with fhir:read, and administrators from a browser session with a fresh second factor; "
    "patients only Patient/{id}/$export of their own record. Exports what the caller may "
    "read; files expire."
)
_GROUP_EXPORT_DOC = (
    _EXPORT_DOC + " Group/{id}/$export exports the compartments of the Group's active Patient "
    "members (`member.entity`), with the rules of Patient/$export; the Group must be "
    "readable by the caller."
)
SYSTEM_EXPORT = {
    "name": "export",
    "definition": f"{BULK_DATA}/OperationDefinition/export",
    "documentation": _EXPORT_DOC,
}
PATIENT_EXPORT = {
    "name": "export",
    "definition": f"{BULK_DATA}/OperationDefinition/patient-export",
    "documentation": _EXPORT_DOC,
}
GROUP_EXPORT = {
    "name": "export",
    "definition": f"{BULK_DATA}/OperationDefinition/group-export",
    "documentation": _GROUP_EXPORT_DOC,
}
_EXPORTS = {"Patient": PATIENT_EXPORT, "Group": GROUP_EXPORT}


def date_param(resource_type: str) -> str | None:
    """The name of the type's clinical date parameter, if the vault indexes one."""
    spec = DATE_PARAMS.get(resource_type)
    return spec[0] if spec else None


def sort_params(resource_type: str) -> frozenset[str]:
    """The `_sort` values a search of `resource_type` takes (`-` for descending): its date
    parameter by its own name (`birthdate`, `onset-date`), or as `date`."""
    dated = date_param(resource_type)
    keys = {"_lastUpdated"} | ({"date", dated} if dated else set())
    return frozenset(keys | {f"-{key}" for key in keys})


def search_includes(resource_type: str) -> list[str]:
    """The `_include` values of `resource_type`: references it holds to served types."""
    return sorted(
        name
        for name, i in INCLUDES.items()
        if i.source == resource_type and (i.target is None or i.target in SUPPORTED_TYPES)
    )


def search_revincludes(resource_type: str) -> list[str]:
    """The `_revinclude` values of `resource_type`: served types' references to it that
    can be found without decrypting (through the compartment or an index term)."""
    return sorted(
        name
        for name, i in INCLUDES.items()
        if i.source in SUPPORTED_TYPES
        and (i.compartment or i.indexed)
        and i.target in {None, resource_type}
    )


# Parameters that take the `:exact` modifier (the others take none).
EXACT_MODIFIABLE = frozenset({"family", "given", "name"})


def capability_statement(base: str, settings: Settings) -> dict[str, Any]:
    """The CapabilityStatement of this server (FHIR R4, JSON only), with the Bundle limits
    `settings` configure."""
    bundles = _BUNDLES.format(
        max_entries=settings.fhir_bundle_max_entries, budget=settings.fhir_bundle_budget
    )
    return {
        "resourceType": "CapabilityStatement",
        "url": f"{base}/metadata",
        "status": "active",
        "date": utcnow().date().isoformat(),
        "publisher": "Carewall",
        "kind": "instance",
        "software": {"name": "Carewall", "version": __version__},
        "implementation": {"description": "Carewall patient-record vault", "url": base},
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Search pages hold `_count` results (default {DEFAULT_COUNT}, at most "
                    f"{MAX_COUNT}); follow the Bundle's `next` link, whose `_cursor` is opaque "
                    "and bound to the caller. " + _RESULTS + " " + bundles + " " + _VERSIONS
                ),
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                "security": {
                    "cors": False,
                    "description": (
                        "Bearer API tokens (`carewall user token EMAIL --scope fhir:read`); "
                        "scope fhir:read for reads and searches, fhir:write for changes. A "
                        "token acts with its owner's role; a patient's token reaches only "
                        "that patient's own records, and the directory, conformance and "
                        "formulary (Medication) resources filed under no patient. "
                        "Break-glass (emergency access) is started in the browser and opens "
                        "a restricted record in that browser session only, never for API "
                        "tokens."
                    ),
                },
                "resource": [_resource(t) for t in sorted(SUPPORTED_TYPES)],
                "operation": [SYSTEM_EXPORT],
            }
        ],
    }


def _resource(resource_type: str) -> dict[str, Any]:
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchInclude": search_includes(resource_type),
        "searchRevInclude": search_revincludes(resource_type),
        "searchParam": [_search_param(name) for name in sorted(search_params(resource_type))],
        **({"operation": [_EXPORTS[resource_type]]} if resource_type in _EXPORTS else {}),
    }


def _search_param(name: str) -> dict[str, str]:
    kind, doc = _PARAMS.get(name, ("date", _DATE_DOC))
    return {"name": name, "type": kind, "documentation": doc}
