"""Access decisions: the chokepoint that decrypts, the matrix, compartments, break-glass.

`reads` is the one way a caller sees plaintext (`get_record_for`,
`search_for`, ...); its names are re-exported here, so `records.access` stays
the chokepoint's name. It decides through `matrix` (role x resource type x
action) and `guard` (compartment, restriction, break-glass grants; refusals
audited), names patients in audit entries through `audit_patients` (keyed
references, ids sealed). `restriction` restricts a record to break-glass;
`break_glass` starts, stops and expires emergency grants.
"""

from carewall.records.access.reads import (
    HistoryEntry,
    HistoryPage,
    SearchPage,
    conditional_match_in,
    export_compartment,
    get_record_for,
    history_for,
    history_page_for,
    read_in,
    sample_decrypts,
    search_for,
    search_in,
    search_page_for,
    search_page_in,
    versions_for,
    vread_for,
)

__all__ = [
    "HistoryEntry",
    "HistoryPage",
    "SearchPage",
    "conditional_match_in",
    "export_compartment",
    "get_record_for",
    "history_for",
    "history_page_for",
    "read_in",
    "sample_decrypts",
    "search_for",
    "search_in",
    "search_page_for",
    "search_page_in",
    "versions_for",
    "vread_for",
]
