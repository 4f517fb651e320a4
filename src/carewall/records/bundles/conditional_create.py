"""A single conditional create (`POST Type` with `If-None-Exist`), done as a Bundle entry.

FHIR's conditional create searches, then creates only if nothing matched (200
and the match if one did, 412 if several did). The search and the write must
be one atomic step, or two clients sending the same create at once both find
nothing and both create. A transaction Bundle's entry already is that step:
its plan records what the identifier matched and its writing transaction
checks the match again before writing (`transactions._still_valid`). So the
single interaction is run as a one-entry transaction, and its failure is
raised as the single interaction's own error, not the Bundle's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carewall.core.context import Caller, Purpose
from carewall.core.runtime import Runtime
from carewall.records.bundles.entries import (
    BundleEntryError,
    BundleRequest,
    EntryRequest,
    Method,
    Query,
)
from carewall.records.bundles.transactions import process_bundle
from carewall.records.bundles.work import EntryResult
from carewall.records.store.search import PageRequest


def conditional_create(
    runtime: Runtime,
    actor: Caller,
    resource: dict[str, Any],
    if_none_exist: Query,
    base: str,
    purpose: Purpose,
) -> EntryResult:
    """Create `resource` (checked, its id left to the server) unless the search
    `if_none_exist` (`entries.if_none_exist_query`) finds one: 201 with the new
    version, 200 with the match."""
    entry = EntryRequest(
        0, Method.POST, resource["resourceType"], resource=resource, if_none_exist=if_none_exist
    )
    bundle = BundleRequest("transaction", (entry,), base.rstrip("/"))
    try:
        done = process_bundle(runtime, actor, bundle, purpose, _no_searches)
    except BundleEntryError as failed:
        raise failed.cause from None
    return done.results[0]


def _no_searches(resource_type: str, query: Sequence[tuple[str, str]]) -> PageRequest:
    """The one entry is a POST: nothing asks for a search page."""
    raise AssertionError(f"a conditional create searched {resource_type} as a page")
