"""Search over the blind indexes (no access checks: see `access.search_for`).

Parameters combine with AND; a parameter given several times (or a value with
commas) matches any of its values, as in FHIR. `patient`/`subject` use the
compartment column; `_id` the plain logical id. `family`, `given` and `name`
match the beginning of a name (FHIR's default for strings) through the prefix
terms of `records.terms`; their `:exact` forms and every other parameter
match the whole normalised value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from carewall.records.errors import Issue, RecordValidationError
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.store.keys import RecordKeys
from carewall.records.store.terms import (
    COMPARTMENT_PARAMS,
    PREFIX_MIN,
    PREFIX_PARAMS,
    SEARCH_PARAMS,
    prefix_param,
    query_prefix,
    query_value,
)

MAX_RESULTS = 1000


@dataclass(frozen=True)
class PageRequest:
    """One page of a search as asked: its parameters, the page size, and the logical id
    the page starts after (empty for the first page)."""

    params: dict[str, list[str]]
    count: int
    after: str = ""


def find_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    limit: int = MAX_RESULTS,
    after: str = "",
    hidden: frozenset[str] = frozenset(),
    newest_first: bool = False,
) -> list[FhirResource]:
    """Current, live versions matching every parameter, at most `limit` of them.

    In logical-id order, those after `after` (the database pages: a search never
    loads more rows than the page it returns); or, with `newest_first`, the most
    recently written first. Rows inside `hidden` compartments are left out by the
    query itself, so pages stay full.
    """
    query = _matching(keys, resource_type, params, compartment, hidden)
    if newest_first:
        query = query.order_by(FhirResource.last_updated.desc(), FhirResource.logical_id)
    else:
        if after:
            query = query.where(FhirResource.logical_id > after)
        query = query.order_by(FhirResource.logical_id)
    return list(session.scalars(query.limit(limit)))


def count_rows(
    session: Session,
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    *,
    compartment: str | None = None,
    hidden: frozenset[str] = frozenset(),
) -> int:
    """How many current, live versions match (the searchset's `total`), counted in the
    database without loading a row."""
    matching = _matching(keys, resource_type, params, compartment, hidden)
    matching = matching.with_only_columns(FhirResource.id)
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def _matching(
    keys: RecordKeys,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    compartment: str | None,
    hidden: frozenset[str],
) -> Select[FhirResource]:
    """Current, live versions of the type matching every parameter, inside `compartment`
    (when given) and outside the `hidden` compartments."""
    query = select(FhirResource).where(
        FhirResource.resource_type == resource_type,
        FhirResource.is_current.is_(True),
        FhirResource.deleted.is_(False),
    )
    if compartment is not None:
        query = query.where(FhirResource.patient_ref == compartment)
    if hidden:
        query = query.where(
            or_(
                FhirResource.patient_ref.is_(None),
                FhirResource.patient_ref.not_in(sorted(hidden)),
            )
        )
    for param, values in params.items():
        query = _filter(query, keys, resource_type, param, _split(values))
    return query


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
    if param in PREFIX_PARAMS:
        return query.where(FhirResource.id.in_(_prefix_matches(keys, resource_type, param, values)))
    stored = param.removesuffix(":exact")
    hmacs = [keys.blind(resource_type, stored, query_value(param, v)) for v in values]
    matching = select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param == stored, FhirSearchIndex.value_hmac.in_(hmacs)
    )
    return query.where(FhirResource.id.in_(matching))


def _prefix_matches(
    keys: RecordKeys, resource_type: str, param: str, values: list[str]
) -> Select[str]:
    """Ids of resources with a name part (of the parts `param` searches) starting with a value."""
    prefixes = [query_prefix(v) for v in values]
    if any(p is None for p in prefixes):
        raise RecordValidationError(
            f"Search parameter {param}: type at least {PREFIX_MIN} letters of the name.",
            [Issue("error", "value", param, f"at least {PREFIX_MIN} letters")],
        )
    stored = [prefix_param(part) for part in PREFIX_PARAMS[param]]
    hmacs = [keys.blind(resource_type, s, p) for s in stored for p in prefixes if p]
    return select(FhirSearchIndex.resource_id).where(
        FhirSearchIndex.param.in_(stored), FhirSearchIndex.value_hmac.in_(hmacs)
    )


def _split(values: Sequence[str]) -> list[str]:
    return [part for value in values for part in value.split(",") if part.strip()]
