"""Conditional references in transaction Bundles: `Location?identifier=system|value`.

Today's Synthea generation (US Core) refers to hospitals, locations and
practitioners this way rather than by id, since a feed does not know the ids
the receiving server gave them. FHIR's rule for a transaction: the server
resolves each one by search, and it must match exactly one resource, or the
whole transaction fails.

Each distinct reference is resolved once (Synthea repeats the same one on
every encounter and claim): first among the Bundle's own entries, with the
ids they are about to get, then in the store as the caller, through
`access.conditional_match_in`, so the search is authorised and audited like
any other and a match in a restricted compartment refuses the entry instead
of being linked blindly. Only `identifier` is accepted, as in the importer
(`bundles.references`): it is what feeds send, and the blind index answers it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from carewall.core.context import Caller, Purpose
from carewall.records.access import conditional_match_in
from carewall.records.store.keys import RecordKeys
from carewall.records.store.terms import query_value, search_terms


class UnresolvedReferenceError(Exception):
    """A conditional reference matched no resource, or several, or cannot be searched;
    `problem` says which, `code` is its OperationOutcome issue code."""

    def __init__(self, problem: str, code: str = "not-found") -> None:
        super().__init__(problem)
        self.problem = problem
        self.code = code


def is_conditional(reference: str) -> bool:
    """`Type?params`, as opposed to `Type/id`, a URL or a fragment (the parameters may
    hold URLs themselves: `Location?identifier=https://github.com/...|id`)."""
    return _CONDITIONAL.match(reference) is not None


_CONDITIONAL = re.compile(r"[A-Z][A-Za-z]{1,63}\?")


class ConditionalReferences:
    """Resolves a Bundle's conditional references to `Type/id`, each distinct one once."""

    def __init__(
        self,
        session: Session,
        keys: RecordKeys,
        actor: Caller,
        purpose: Purpose,
        entries: Iterable[tuple[str, dict[str, Any]]],
    ) -> None:
        """`entries` are the Bundle's resources as (final id, resource) pairs."""
        self._session, self._keys, self._actor, self._purpose = session, keys, actor, purpose
        self._entries = list(entries)
        self._in_bundle: dict[tuple[str, str], set[str]] | None = None
        self._resolved: dict[str, str] = {}

    def __call__(self, reference: str) -> str:
        """`Type/id` for a conditional reference (raises `UnresolvedReferenceError`)."""
        found = self._resolved.get(reference)
        if found is None:
            found = self._resolved[reference] = self._resolve(reference)
        return found

    def _resolve(self, reference: str) -> str:
        resource_type, _, query = reference.partition("?")
        params = parse_qsl(query, keep_blank_values=True)
        if not params or any(name != "identifier" or not value for name, value in params):
            raise UnresolvedReferenceError(
                "only identifier= conditional references are supported", "not-supported"
            )
        values = [value for _, value in params]
        candidates = self._bundle_matches(resource_type, values)
        if not candidates:
            found = conditional_match_in(
                self._session,
                self._keys,
                self._actor,
                resource_type,
                {"identifier": values},
                self._purpose,
            )
            candidates = {str(resource["id"]) for resource in found}
        if not candidates:
            raise UnresolvedReferenceError("the conditional reference matches no resource")
        if len(candidates) > 1:
            raise UnresolvedReferenceError(
                "the conditional reference matches more than one resource", "multiple-matches"
            )
        return f"{resource_type}/{candidates.pop()}"

    def _bundle_matches(self, resource_type: str, values: list[str]) -> set[str]:
        """Ids of the Bundle's own resources of `resource_type` with every identifier given."""
        if self._in_bundle is None:
            self._in_bundle = {}
            for logical_id, resource in self._entries:
                kind = str(resource.get("resourceType"))
                for param, value in search_terms(resource):
                    if param == "identifier":
                        self._in_bundle.setdefault((kind, value), set()).add(logical_id)
        sets = [
            self._in_bundle.get((resource_type, query_value("identifier", v)), set())
            for v in values
        ]
        return set.intersection(*sets) if sets else set()
