"""Many resources at once: import files, and FHIR `transaction` / `batch` Bundles.

`units` reads an import file into one all-or-nothing unit, `references`
resolves the references a unit makes (conditional ones need the database) and
`importer` writes units. `entries` reads a Bundle into checked entry requests,
`transactions` runs them through the same work functions as single
interactions (one entry's work is `work`), `plan` prepares a transaction's
writes outside the write lock, and `batches` runs a batch's entries each in a
savepoint of its own, in runs that share a writing transaction.
"""
