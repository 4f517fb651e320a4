"""Selects run on the driver's own cursor (`core.driver.DriverSelect`) answer exactly what
Core answers for the same statement, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.driver import DriverSelect
from carewall.core.runtime import Runtime
from carewall.identity import apitokens
from carewall.identity.models import ApiToken
from carewall.records.services import create_resource
from carewall.records.store import versions
from tests.support.factories import make_user


def _both(runtime: Runtime, query: DriverSelect, params: dict[str, object]) -> tuple[object, ...]:
    """The row on the driver and through Core, which must be equal; the driver's."""
    with runtime.db.lookup() as connection:
        on_driver = query.first(connection, params)
        through_core = connection.execute(query.statement, params).first()
    assert through_core is not None
    assert on_driver == tuple(through_core)
    assert on_driver is not None
    return on_driver


def test_a_token_lookup_converts_every_column_as_core_does(runtime: Runtime) -> None:
    person = make_user(runtime, "nurse@clinic.example", "clinician")
    secret, token = apitokens.create_token(runtime, Caller.cli(), person.id, "s", ["fhir:read"])
    row = _both(runtime, apitokens._BY_HASH, {"token_hash": apitokens.digest(secret)})
    # A JSON list, aware timestamps, a boolean, and an EXISTS around a bound literal.
    assert row[0] == token.id
    assert row[1] == ["fhir:read"]
    assert row[3] == token.expires_at
    assert row[3].tzinfo is not None
    assert row[9] is False


def test_a_bound_value_goes_through_its_type_as_core_binds_it(runtime: Runtime) -> None:
    person = make_user(runtime, "nurse@clinic.example", "clinician")
    _, token = apitokens.create_token(runtime, Caller.cli(), person.id, "s", ["fhir:read"])
    later = DriverSelect(
        select(ApiToken.id, ApiToken.expires_at).where(ApiToken.expires_at > bindparam("now"))
    )
    # An aware datetime: on SQLite, Core binds it as the text it stores.
    assert _both(runtime, later, {"now": utcnow() - timedelta(days=1)})[0] == token.id
    with runtime.db.lookup() as connection:
        assert later.first(connection, {"now": utcnow() + timedelta(days=3650)}) is None


def test_a_current_version_reads_as_it_did_through_core(runtime: Runtime) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Okafor"}]}
    create_resource(runtime, Caller.cli(), patient)
    found = _both(
        runtime, versions._CURRENT_VERSION, {"resource_type": "Patient", "logical_id": "p1"}
    )
    row = dict(zip(versions._CURRENT_VERSION.names, found, strict=True))
    assert (row["logical_id"], row["version_id"], row["deleted"]) == ("p1", 1, False)
    assert isinstance(row["ciphertext"], bytes)
    with runtime.db.read_transaction() as session:
        stored = versions.current_version(session, "Patient", "p1")
        assert versions.current_version(session, "Patient", "nobody") is None
    assert stored is not None
    assert stored.restricted is False
    assert stored.last_updated.tzinfo is not None
