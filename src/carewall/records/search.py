"""Exact-match search over the blind indexes (no access checks: see `access.search_for`).

Parameters combine with AND; a parameter given several times (or a value with
commas) matches any of its values, as in FHIR. `patient`/`subject` use the
compartment column; `_id` the plain logical id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carewall.records.errors import Issue, RecordValidationError
from carewall.records.keys import RecordKeys
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.terms import COMPARTMENT_PARAMS, SEARCH_PARAMS, query_value

MAX_RESULTS = 1000


def find_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    limit: int = MAX_RESULTS,
) -> list[FhirResource]:
    """Current, live versions matching every parameter (optionally inside one compartment)."""
    query = select(FhirResource).where(
        FhirResource.resource_type == resource_type,
        FhirResource.is_current.is_(True),
        FhirResource.deleted.is_(False),
    )
    if compartment is not None:
        query = query.where(FhirResource.patient_ref == compartment)
    for param, values in params.items():
        query = _filter(query, keys, resource_type, param, _split(values))
    return list(session.scalars(query.order_by(FhirResource.logical_id).limit(limit)))


def _filter(
    query: Select[FhirResource],
    keys: RecordKeys,
    resource_type: str,
    param: str,
    values: list[str],
) -> Select[FhirResource]:
    if param == "_id":
        return query.where(FhirResource.logical_id.in_(values))
    if param in COMPARTMENT_PARAMS:
        refs = [keys.patient_ref(v.removeprefix("Patient/")) for v in values]
        return query.where(FhirResource.patient_ref.in_(refs))
    if param not in SEARCH_PARAMS:
        raise RecordValidationError(
            f"Search parameter {param} is not supported.",
            [Issue("error", "not-supported", param, "search parameter not supported")],
        )
    hmacs = [keys.blind(resource_type, param, query_value(param, v)) for v in values]
    matching = select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param == param, FhirSearchIndex.value_hmac.in_(hmacs)
    )
    return query.where(FhirResource.id.in_(matching))


def _split(values: Sequence[str]) -> list[str]:
    return [part for value in values for part in value.split(",") if part.strip()]
