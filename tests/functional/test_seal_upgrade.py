"""Upgrading a database that holds data: revision 0009 and the sealing step at start-up.

A migration cannot reach the master key, so 0009 only adds the sealed columns
and every command, `serve` first, seals what older versions kept in clear
(reported-mail subjects, senders, evidence and notes; a portal account's
Patient id; a restriction's reason) before it does anything else. The step is
resumable: a row sealed already is left alone, and a second start finds nothing.
"""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from carewall.audit import verify
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.db import alembic_config
from carewall.core.roles import Role
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import links
from carewall.identity.links import seal_patient_links
from carewall.identity.queries import user_id_for_email
from carewall.phishing import queries, services
from carewall.records.access.restriction import (
    restrict_compartment,
    restriction_reason,
    seal_restriction_reasons,
)
from carewall.records.services import create_resource
from carewall.registry import install
from tests.functional.test_mail_at_rest import NOTE, SENDER, SUBJECT, lure
from tests.support.factories import CLI, fhir_resource, make_user

SYSTEM = Caller.cli("test")
LEGACY_SIGNALS = [
    {
        "id": "links.credential_path",
        "weight": 3.0,
        "explanation": "x",
        "evidence": "https://old.example/login",
    }
]


def _make_legacy(runtime: Runtime) -> tuple[str, str, str]:
    """Rows as revision 0007 left them: the same data, in the clear columns."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "pt-legacy"))
    make_user(runtime, "legacy@example.org", "patient", patient_id="pt-legacy")
    restrict_compartment(runtime, SYSTEM, "pt-legacy", "employee")
    first = services.report_message(runtime, "u-1", lure(), "upload", CLI).id
    second = services.report_message(runtime, "u-1", lure("Second"), "upload", CLI).id
    with runtime.db.sessions() as session:
        user_id = user_id_for_email(session, "legacy@example.org")
    assert user_id is not None
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE mail_reports SET subject = :subject, sender = :sender, signals = :signals,"
                " note = :note, summary_sealed = NULL, note_sealed = NULL"
            ),
            {
                "subject": SUBJECT,
                "sender": SENDER,
                "signals": json.dumps(LEGACY_SIGNALS),
                "note": NOTE,
            },
        )
        connection.execute(
            text(
                "UPDATE users SET patient_id = 'pt-legacy', patient_id_sealed = NULL WHERE id = :id"
            ),
            {"id": user_id},
        )
        connection.execute(
            text(
                "UPDATE restricted_compartments SET reason_code = 'employee', reason_sealed = NULL"
            )
        )
    return user_id, first, second


def _downgrade_to_0007(runtime: Runtime) -> None:
    with runtime.db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")


def _clear_columns(runtime: Runtime) -> list[tuple[object, ...]]:
    with runtime.db.engine.connect() as connection:
        return [
            *map(tuple, connection.execute(text("SELECT subject, sender, note FROM mail_reports"))),
            *map(
                tuple,
                connection.execute(
                    text("SELECT patient_id FROM users WHERE patient_id IS NOT NULL")
                ),
            ),
            *map(
                tuple, connection.execute(text("SELECT reason_code FROM restricted_compartments"))
            ),
        ]


def _seal_all(runtime: Runtime) -> int:
    """The three sealing upgrades the identity, records and phishing registrations run."""
    return (
        seal_patient_links(runtime)
        + seal_restriction_reasons(runtime)
        + services.seal_legacy_reports(runtime)
    )


def test_an_old_database_is_migrated_and_sealed_at_start(
    runtime: Runtime, settings: Settings
) -> None:
    user_id, first, _ = _make_legacy(runtime)
    _downgrade_to_0007(runtime)
    runtime.close()

    upgraded = install(open_runtime(settings))  # migrates to the head, then seals (as `serve`)
    try:
        leftover = _clear_columns(upgraded)
        assert all(value == "" for row in leftover for value in row), leftover
        with upgraded.db.engine.connect() as connection:
            signals = connection.execute(text("SELECT signals FROM mail_reports")).scalars()
            assert [json.loads(s) if isinstance(s, str) else s for s in signals] == [[], []]
        reports = queries.reports_of(upgraded, "u-1").reports
        assert {(r.subject, r.sender, r.note) for r in reports} == {(SUBJECT, SENDER, NOTE)}
        summary, raw = services.open_report(upgraded, Caller.for_user("officer", Role.ADMIN), first)
        assert summary.top_signals == LEGACY_SIGNALS
        assert raw == lure(), "the message sealed before 0009 still opens"
        assert links.patient_id_of(upgraded, user_id) == "pt-legacy"
        assert restriction_reason(upgraded, "pt-legacy") == "employee"
        with upgraded.db.engine.connect() as connection:
            tags = list(connection.execute(text("SELECT action FROM audit_entries")).scalars())
        for tag in ("identity:links:sealed", "records:reasons:sealed", "phishing:reports:sealed"):
            assert tags.count(tag) == 1, tag
        assert _seal_all(upgraded) == 0, "a second start finds nothing to seal"
        assert verify(upgraded.db).ok
    finally:
        upgraded.close()


def test_the_step_resumes_and_leaves_sealed_rows_alone(runtime: Runtime) -> None:
    _, first, second = _make_legacy(runtime)
    # An earlier, interrupted run sealed the first report only.
    assert services.seal_legacy_reports(runtime, batch=1) == 2
    with runtime.db.engine.connect() as connection:
        before = dict(connection.execute(text("SELECT id, summary_sealed FROM mail_reports")).all())
    assert _seal_all(runtime) == 2  # the link and the reason; reports are done
    with runtime.db.engine.connect() as connection:
        after = dict(connection.execute(text("SELECT id, summary_sealed FROM mail_reports")).all())
    assert after == before, "sealed rows are not sealed again"
    assert {r.subject for r in queries.reports_of(runtime, "u-1").reports} == {SUBJECT}
    assert {first, second} == set(after)


def test_downgrading_refuses_while_rows_are_sealed(runtime: Runtime) -> None:
    services.report_message(runtime, "u-1", lure(), "upload", CLI)
    with pytest.raises(RuntimeError, match="cannot be undone"):
        _downgrade_to_0007(runtime)
