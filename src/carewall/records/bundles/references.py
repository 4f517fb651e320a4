"""References that need the database: conditional references and identifier matching.

`Practitioner?identifier=system|value` is looked up first among the unit's
own resources, then in the store through the identifier blind index; it must
match exactly one resource, otherwise the whole unit fails.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from carewall.records.bundles.units import Unit, rewrite_references
from carewall.records.errors import Issue, RecordValidationError
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import find_rows
from carewall.records.store.terms import query_value, search_terms


class ConditionalResolver:
    """Resolves the references of one unit, each distinct reference once.

    Synthea repeats the same `Practitioner?identifier=...` on every encounter,
    claim and report of a bundle; looking each one up afresh (a scan of the
    unit and a query) made the import quadratic in the bundle's size.
    """

    def __init__(
        self, session: Session, keys: RecordKeys, unit: Unit, renamed: dict[str, str]
    ) -> None:
        self._session, self._keys, self._unit, self._renamed = session, keys, unit, renamed
        self._resolved: dict[str, str] = {}
        self._identifiers: dict[tuple[str, str], set[str]] | None = None

    def __call__(self, reference: str) -> str:
        """`Type/id` for a reference; conditional ones are looked up, others pass through."""
        resolved = self._resolved.get(reference)
        if resolved is None:
            resolved = self._resolved[reference] = self._resolve(reference)
        return resolved

    def _resolve(self, reference: str) -> str:
        reference = self._renamed.get(reference, reference)
        if "?" not in reference:
            return reference
        resource_type, _, query = reference.partition("?")
        params = parse_qsl(query, keep_blank_values=True)
        if not params or any(name != "identifier" for name, _ in params):
            raise _unresolved(resource_type, "only identifier= conditional references")
        candidates = self._in_unit(resource_type, params) or _in_store(
            self._session, self._keys, resource_type, params
        )
        if len(candidates) != 1:
            found = "no" if not candidates else "several"
            raise _unresolved(resource_type, f"conditional reference matches {found} resources")
        return f"{resource_type}/{candidates.pop()}"

    def _in_unit(self, resource_type: str, params: list[tuple[str, str]]) -> set[str]:
        if self._identifiers is None:
            self._identifiers = {}
            for resource in self._unit.resources:
                for param, value in search_terms(resource):
                    if param == "identifier":
                        key = (str(resource.get("resourceType")), value)
                        self._identifiers.setdefault(key, set()).add(str(resource["id"]))
        found: set[str] = set()
        for name, value in params:
            found |= self._identifiers.get((resource_type, query_value(name, value)), set())
        return found


def resolve_identity(session: Session, keys: RecordKeys, unit: Unit) -> dict[str, str]:
    """Entries marked for conditional create take the id of the stored match, if any.

    Returns the old-to-new `Type/id` renames and rewrites the unit's references.
    """
    renamed: dict[str, str] = {}
    for index in sorted(unit.match_by_identifier):
        resource = unit.resources[index]
        idents = [
            ("identifier", v) for p, v in search_terms(resource) if p == "identifier" and "|" in v
        ]
        matches = _in_store(session, keys, resource["resourceType"], idents) if idents else set()
        if len(matches) == 1:
            new_id = matches.pop()
            renamed[f"{resource['resourceType']}/{resource['id']}"] = (
                f"{resource['resourceType']}/{new_id}"
            )
            resource["id"] = new_id
    if renamed:
        unit.resources = [
            rewrite_references(r, lambda ref: renamed.get(ref, ref)) for r in unit.resources
        ]
    return renamed


def _in_store(
    session: Session, keys: RecordKeys, resource_type: str, params: list[tuple[str, str]]
) -> set[str]:
    found: set[str] = set()
    for name, value in params:
        rows = find_rows(session, keys, resource_type, {name: [value]}, limit=2)
        found.update(row.logical_id for row in rows)
    return found


def _unresolved(expression: str, problem: str) -> RecordValidationError:
    return RecordValidationError(
        f"Unresolved reference to {expression}", [Issue("error", "not-found", expression, problem)]
    )
