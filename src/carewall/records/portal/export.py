"""A patient's compartment as a FHIR Bundle (type collection), plus what it refers to."""

from __future__ import annotations

import uuid
from typing import Any

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records.access import export_compartment


def export_patient_bundle(runtime: Runtime, actor: Caller, patient_id: str) -> dict[str, Any]:
    """The compartment of `patient_id` that `actor` may read, as a collection Bundle."""
    resources = export_compartment(runtime, actor, patient_id)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
