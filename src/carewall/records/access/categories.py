"""What each stored resource type reveals: one category per type, as data in one place.

The permission matrix (`matrix`) grants roles whole categories, so a type's
category decides who may reach it. A category says what kind of information a
resource of that type holds, not where it is used:

- `demographics`: who the patient is and what they agreed to (front desk work);
- `clinical`: the care record, and the documents and devices that belong to it;
- `financial`: insurance, claims, invoices and payments;
- `workflow`: scheduling and tasks, which the front desk runs with clinicians;
- `directory`: the practice's people, places and services (not patient data);
- `conformance`: definitions, terminology, forms and knowledge shared by everyone
  (not patient data);
- `infrastructure`: the machinery of other systems (their audit events,
  messages and subscriptions, which may hold endpoints and credentials): the
  security officer's alone.

Directory and conformance types are `PUBLIC`: a patient may read one that is in
no patient's compartment (their doctor's Practitioner, a Questionnaire), as a
patient always could read the directory. A resource of any type that names a
patient is in that patient's compartment, whatever its category.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from carewall.records.store.resource_types import SUPPORTED_TYPES


class Category(StrEnum):
    """What kind of information a resource type holds."""

    DEMOGRAPHICS = "demographics"
    CLINICAL = "clinical"
    FINANCIAL = "financial"
    WORKFLOW = "workflow"
    DIRECTORY = "directory"
    CONFORMANCE = "conformance"
    INFRASTRUCTURE = "infrastructure"


TYPES_BY_CATEGORY: Mapping[Category, frozenset[str]] = {
    Category.DEMOGRAPHICS: frozenset({"Patient", "RelatedPerson", "Person", "Consent"}),
    Category.CLINICAL: frozenset(
        {
            "AdverseEvent",
            "AllergyIntolerance",
            "Basic",
            "Binary",  # the content of documents
            "BiologicallyDerivedProduct",
            "BodyStructure",
            "CarePlan",
            "CareTeam",
            "ClinicalImpression",
            "Communication",
            "CommunicationRequest",
            "Composition",
            "Condition",
            "DetectedIssue",
            "Device",
            "DeviceMetric",
            "DeviceRequest",
            "DeviceUseStatement",
            "DiagnosticReport",
            "DocumentManifest",
            "DocumentReference",
            "Encounter",
            "EpisodeOfCare",
            "FamilyMemberHistory",
            "Flag",
            "Goal",
            "Group",  # a cohort: membership itself can be a diagnosis
            "GuidanceResponse",
            "ImagingStudy",
            "Immunization",
            "ImmunizationEvaluation",
            "ImmunizationRecommendation",
            "Linkage",
            "List",
            "MeasureReport",
            "Media",
            "Medication",
            "MedicationAdministration",
            "MedicationDispense",
            "MedicationRequest",
            "MedicationStatement",
            "MolecularSequence",
            "NutritionOrder",
            "Observation",
            "Procedure",
            "Provenance",  # who wrote the record, travels with it
            "QuestionnaireResponse",
            "RequestGroup",
            "ResearchSubject",
            "RiskAssessment",
            "ServiceRequest",
            "Specimen",
            "SupplyDelivery",
            "SupplyRequest",
            "VisionPrescription",
        }
    ),
    Category.FINANCIAL: frozenset(
        {
            "Account",
            "ChargeItem",
            "ChargeItemDefinition",
            "Claim",
            "ClaimResponse",
            "Contract",
            "Coverage",
            "CoverageEligibilityRequest",
            "CoverageEligibilityResponse",
            "EnrollmentRequest",
            "EnrollmentResponse",
            "ExplanationOfBenefit",
            "Invoice",
            "PaymentNotice",
            "PaymentReconciliation",
        }
    ),
    Category.WORKFLOW: frozenset(
        {"Appointment", "AppointmentResponse", "Schedule", "Slot", "Task"}
    ),
    Category.DIRECTORY: frozenset(
        {
            "Endpoint",
            "HealthcareService",
            "InsurancePlan",
            "Location",
            "Organization",
            "OrganizationAffiliation",
            "Practitioner",
            "PractitionerRole",
            "VerificationResult",
        }
    ),
    Category.CONFORMANCE: frozenset(
        {
            "ActivityDefinition",
            "CapabilityStatement",
            "CatalogEntry",
            "CodeSystem",
            "CompartmentDefinition",
            "ConceptMap",
            "DeviceDefinition",
            "EventDefinition",
            "ExampleScenario",
            "GraphDefinition",
            "ImplementationGuide",
            "Library",
            "Measure",
            "MedicationKnowledge",
            "MessageDefinition",
            "NamingSystem",
            "ObservationDefinition",
            "OperationDefinition",
            "PlanDefinition",
            "Questionnaire",
            "ResearchDefinition",
            "ResearchElementDefinition",
            "ResearchStudy",
            "SearchParameter",
            "SpecimenDefinition",
            "StructureDefinition",
            "StructureMap",
            "Substance",
            "TerminologyCapabilities",
            "TestReport",
            "TestScript",
            "ValueSet",
        }
    ),
    Category.INFRASTRUCTURE: frozenset({"AuditEvent", "MessageHeader", "Subscription"}),
}

CATEGORY_OF: Mapping[str, Category] = {
    resource_type: category
    for category, types in TYPES_BY_CATEGORY.items()
    for resource_type in types
}
# Not patient data: readable by patients outside any compartment.
PUBLIC_CATEGORIES = frozenset({Category.DIRECTORY, Category.CONFORMANCE})
PUBLIC_TYPES = frozenset(t for t, c in CATEGORY_OF.items() if c in PUBLIC_CATEGORIES)
# What a patient may read outside any compartment: the public types, and the drug
# definitions their prescriptions point at (`MedicationRequest.medicationReference`).
# A Medication in no compartment is the practice's formulary entry, saying nothing of
# who takes it (SMART's `patient/Medication.read` reads it the same way); a Medication
# filed in a patient's compartment stays theirs alone.
PATIENT_OPEN_TYPES = PUBLIC_TYPES | frozenset({"Medication"})


def types_in(*categories: Category) -> frozenset[str]:
    """Every stored type in any of `categories`."""
    return frozenset(t for c in categories for t in TYPES_BY_CATEGORY[c])


def category_of(resource_type: str) -> Category | None:
    """The category of a stored type (None for a type the vault does not store)."""
    return CATEGORY_OF.get(resource_type)


def uncategorised() -> frozenset[str]:
    """Stored types without a category, and categorised types that are not stored (both
    should be empty: a test checks)."""
    return frozenset(SUPPORTED_TYPES ^ CATEGORY_OF.keys())
