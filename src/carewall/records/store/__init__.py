"""The encrypted store and its indexes: sealed resource versions, blind indexes, keys.

`versions` seals, indexes, loads and opens resource versions with no access
checks; its names are re-exported here so callers write `store.current_row`.
Around it: the two data keys (`keys`), which patient a resource is filed under
(`compartments`), what gets a blind index (`terms`) and the exact-match search
over it (`search`), FHIR validation of what is stored (`validation`), the
resumable re-indexing (`reindex`) and the restore drill's decrypt check
(`drill`). Only `access` and the writers (`services`, `bundles`) use it: the
decrypting functions stay inside the records package.
"""

from carewall.records.store.versions import (
    PreparedVersion,
    StoredVersion,
    Version,
    WriteResult,
    compartment_rows,
    current_ids,
    current_row,
    current_rows,
    current_version,
    find_version,
    history_rows,
    insert_versions,
    open_row,
    patient_of,
    patient_of_stored,
    prepare_version,
    require_live,
    sample_rows,
    snapshot,
    tombstone_values,
    write_tombstone,
    write_version,
)

__all__ = [
    "PreparedVersion",
    "StoredVersion",
    "Version",
    "WriteResult",
    "compartment_rows",
    "current_ids",
    "current_row",
    "current_rows",
    "current_version",
    "find_version",
    "history_rows",
    "insert_versions",
    "open_row",
    "patient_of",
    "patient_of_stored",
    "prepare_version",
    "require_live",
    "sample_rows",
    "snapshot",
    "tombstone_values",
    "write_tombstone",
    "write_version",
]
