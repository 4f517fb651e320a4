"""HTTP interface: pages, JSON API and (later) the FHIR API, over the domain services."""
