"""HTTP interface: pages, the JSON API and the FHIR R4 API, thin over the domain services."""
