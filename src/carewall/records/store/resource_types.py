"""Which FHIR resource types the vault stores: the one list every other table follows.

The list is every FHIR R4 (4.0.1) resource type that the `fhir.resources.R4B`
models validate (R4B is wire-compatible with R4 for them), minus what a record
vault should not hold:

- R4 types the R4B library no longer has (`MedicinalProduct*`, the
  `Substance*` specifications, `EffectEvidenceSynthesis`,
  `RiskEvidenceSynthesis`): nothing could validate them;
- types R4B redefined so that a valid R4 resource no longer validates
  (`Evidence`, `EvidenceVariable`, rewritten for evidence-based medicine);
- messages rather than records: `Bundle` (a container: its entries are stored
  one by one, through the importer or `POST /fhir/`; a stored Bundle could
  hold several patients' data under no compartment), `Parameters` and
  `OperationOutcome` (the input and output of an operation, never kept).

Types new in R4B are left out too: this server speaks R4 (its
CapabilityStatement says 4.0.1), and an R4 client knows nothing of them.

The R4 type list and the Patient compartment are FHIR's own content (CC0),
kept as data in `data/fhir-r4.json`. Whether the library has a model is asked
of `fhirtypes` by name, without building the models (building all of them
takes seconds). The categories (`records.access.categories`), the permission
matrix, the Patient compartment (`compartments`) and the CapabilityStatement
are checked against this list by tests, and a test builds every R4B model, so
a library upgrade that adds or changes a type fails until the tables say what
it is.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fhir.resources.R4B import fhirtypes

# R4 types whose R4B model refuses valid R4 content.
REDEFINED_IN_R4B = frozenset({"Evidence", "EvidenceVariable"})
# Types that travel in messages but are never records.
NOT_RECORDS = frozenset({"Bundle", "Parameters", "OperationOutcome"})


def fhir_r4() -> dict[str, Any]:
    """The FHIR R4 content kept as data: `resourceTypes` and `patientCompartment`."""
    text = resources.files(__package__).joinpath("data", "fhir-r4.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


R4_TYPES = frozenset(fhir_r4()["resourceTypes"])
# R4 types that `fhir.resources.R4B` has a model for.
MODELLED_R4_TYPES = frozenset(t for t in R4_TYPES if hasattr(fhirtypes, f"{t}Type"))
SUPPORTED_TYPES = MODELLED_R4_TYPES - REDEFINED_IN_R4B - NOT_RECORDS
# Stored types whose model has no `identifier` element (no `identifier` search);
# a unit test checks this against the models.
WITHOUT_IDENTIFIER = frozenset(
    {
        "AuditEvent",
        "Binary",
        "CapabilityStatement",
        "CompartmentDefinition",
        "GraphDefinition",
        "ImplementationGuide",
        "Linkage",
        "MedicationKnowledge",
        "MessageHeader",
        "NamingSystem",
        "OperationDefinition",
        "Provenance",
        "SearchParameter",
        "Subscription",
        "TerminologyCapabilities",
        "VerificationResult",
    }
)


def _patient_compartment() -> dict[str, dict[str, tuple[str, ...]]]:
    """FHIR's Patient compartment for the stored types: type -> search parameter -> the
    element paths it searches (inside the resource, without list indexes)."""
    table: dict[str, dict[str, list[str]]] = fhir_r4()["patientCompartment"]
    return {
        resource_type: {param: tuple(paths) for param, paths in params.items()}
        for resource_type, params in table.items()
        if resource_type in SUPPORTED_TYPES
    }


# FHIR R4's CompartmentDefinition "patient": the search parameters that put a resource
# of each type in a patient's compartment, and the element paths they search.
PATIENT_COMPARTMENT_PARAMS = _patient_compartment()
# The same as element paths per type, the patient the resource is about first.
PATIENT_COMPARTMENT: dict[str, tuple[str, ...]] = {
    resource_type: tuple(dict.fromkeys(p for paths in params.values() for p in paths))
    for resource_type, params in PATIENT_COMPARTMENT_PARAMS.items()
}
