"""What pages show of times and identity documents: the practice's zone, masked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from carewall.core.roles import Role
from carewall.records.readers import demographics_of, mask_identifier
from carewall.web.templating import local_time

CHICAGO = ZoneInfo("America/Chicago")
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Mueller", "given": ["Angelic"]}],
    "identifier": [
        {"type": {"text": "Medical Record Number", "coding": [{"code": "MR"}]}, "value": "MRN-1"},
        {
            "type": {"coding": [{"code": "SS"}], "text": "Social Security Number"},
            "value": "999-36-6589",
        },
        {"type": {"text": "Driver's License"}, "value": "S99956628"},
        {"type": {"coding": [{"code": "PPN"}]}, "value": "X53754664X"},
    ],
}


def test_times_are_shown_in_the_practice_zone_with_its_abbreviation() -> None:
    winter = datetime(2026, 1, 15, 18, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 18, 5, tzinfo=UTC)
    assert local_time(winter, CHICAGO) == "15 Jan 2026, 12:05 CST"
    assert local_time(summer, CHICAGO, "%H:%M") == "13:05 CDT"
    assert local_time(winter, CHICAGO, "%H:%M", label=False) == "12:05"
    naive = winter.replace(tzinfo=None)  # stored times without a zone are UTC
    assert local_time(naive, CHICAGO, "%H:%M") == "12:05 CST"
    assert local_time(winter, ZoneInfo("UTC"), "%H:%M") == "18:05 UTC"
    assert local_time(date(2026, 1, 15), CHICAGO, "%Y-%m-%d") == "2026-01-15"  # a date has no zone
    assert local_time("2026-01-15T18:05:00+00:00", CHICAGO, "%H:%M") == "12:05 CST"
    assert local_time("not a time", CHICAGO) == "not a time"
    assert local_time(None, CHICAGO) == ""


def identifiers(role: Role) -> list[str]:
    return demographics_of(PATIENT, role=role).identifiers


def test_identity_documents_are_masked_unless_the_role_needs_them() -> None:
    assert mask_identifier("999-36-6589") == "•••• 6589"
    clinician = identifiers(Role.CLINICIAN)
    assert clinician == [
        "Medical Record Number: MRN-1",
        "Social Security Number: •••• 6589",
        "Driver's License: •••• 6628",
        "PPN: •••• 664X",  # a coding without display text shows its code
    ]
    billing = identifiers(Role.BILLING)
    assert "Social Security Number: 999-36-6589" in billing
    assert "Driver's License: •••• 6628" in billing
    front_desk = identifiers(Role.FRONT_DESK)
    assert "Driver's License: S99956628" in front_desk
    assert "PPN: X53754664X" in front_desk
    assert "Social Security Number: •••• 6589" in front_desk
    assert "999-36-6589" not in " ".join(clinician)


def test_a_long_table_pages_through_the_query_string() -> None:
    from starlette.requests import Request

    from carewall.web.templating import templates

    page = templates.env.from_string(
        '{% from "_pager.html" import pager %}{% set pg = page_of(rows, "runs", 10) %}'
        "{{ pg.rows|join(',') }}|{{ pager(pg) }}"
    )

    def render(query: bytes) -> str:
        scope = {
            "type": "http",
            "path": "/admin/jobs",
            "query_string": query,
            "headers": [],
            "server": ("carewall.test", 80),
            "scheme": "http",
        }
        return page.render(request=Request(scope), rows=list(range(25)))

    first = render(b"")
    assert first.startswith("0,1,2,3,4,5,6,7,8,9|")
    assert 'href="/admin/jobs?runs=2"' in first
    assert "Page 1 of 3 (25 in all)" in first
    last = render(b"runs=3&other=x")
    assert last.startswith("20,21,22,23,24|")
    assert 'href="/admin/jobs?other=x&amp;runs=2"' in last
    assert "Next" not in last
    assert render(b"runs=99").startswith("20,")  # out of range: the nearest page
    assert render(b"runs=abc").startswith("0,")
