"""Master-key rotation re-wraps data keys; records written before it still read after it."""

from __future__ import annotations

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.records import Purpose, prepare_keys
from carewall.records.access import get_record_for
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource

SYSTEM = Caller.cli("test")


def test_records_written_before_rotation_read_after_it(settings: Settings) -> None:
    runtime = open_runtime(settings)
    prepare_keys(runtime.keys)
    patient = fhir_resource("Patient", "p-rot")
    create_resource(runtime, SYSTEM, patient)
    assert runtime.keys.rotate(settings) == 2
    runtime.close()

    reopened = open_runtime(settings)
    try:
        assert reopened.keys.ring.active_version == 2
        record = get_record_for(reopened, SYSTEM, "Patient", "p-rot", Purpose.SYSTEM)
        assert record["name"] == patient["name"]
        create_resource(reopened, SYSTEM, fhir_resource("Patient", "p-after"))
        assert get_record_for(reopened, SYSTEM, "Patient", "p-after", Purpose.SYSTEM)
    finally:
        reopened.close()
