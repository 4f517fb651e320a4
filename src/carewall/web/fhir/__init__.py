"""The FHIR R4 REST API under /fhir/ (JSON only), over the record vault.

`routes` holds the endpoints, `inputs` reads requests, `responses` writes FHIR
JSON (OperationOutcome, Bundles, ETags), `capability` says what is supported
and `paging` seals search cursors.
"""
