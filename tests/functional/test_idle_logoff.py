"""Automatic logoff (HIPAA 164.312(a)(2)(iii)) over HTTP, as a left-idle browser lives it.

The repro: the page's timer fires a moment before the server's deadline and
goes to `/login?expired=1`; that page sent a signed-in person straight back to
`/` and, being a request, kept the session alive for another 15 minutes.
Whatever the timing, once the idle limit is reached the session is over on the
server, and what the page does at its deadline never extends it.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit import entries_with_action
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity.models import WebSession
from carewall.identity.signin import end_expired_sessions
from carewall.registry import create_app
from carewall.web.auth import SESSION_COOKIE
from tests.support.clock import FrozenClock
from tests.support.factories import make_admin, make_user
from tests.support.signin import csrf, signed_in

IDLE = 15  # minutes, the staff default


def alive(app: FastAPI, cookie: str) -> bool:
    """Whether this session cookie still opens a page, from a browser that only has it."""
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as other:
        return other.get("/account/security", follow_redirects=False).status_code == 200


def seconds_on_page(client: TestClient) -> int:
    page = client.get("/account/security").text
    return int(page.split('data-session-seconds="', 1)[1].split('"', 1)[0])


def test_the_expired_page_shows_sign_in_and_does_not_extend_the_session(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    cookie = client.cookies[SESSION_COOKIE]
    clock.advance(minutes=IDLE, seconds=-1)  # the page's timer fires a second early
    page = client.get("/login?expired=1", follow_redirects=False)
    assert page.status_code == 200, "the sign-in page, not a redirect into the app"
    assert "signed out after a period of inactivity" in page.text
    assert 'name="password"' in page.text
    clock.advance(seconds=1)  # the server's deadline
    assert not alive(app, cookie), "the expired page did not count as activity"


def test_what_the_page_does_at_its_deadline_ends_the_session_on_the_server(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    cookie = client.cookies[SESSION_COOKIE]
    token = csrf(client)
    clock.advance(minutes=IDLE, seconds=-2)
    status = client.get("/api/v1/session/status")  # the timer asks first (other tabs)
    assert status.status_code == 200
    assert 0 < status.json()["seconds_left"] <= 2, "asking does not count as activity"
    clock.advance(seconds=2)
    gone = client.get("/api/v1/session/status")
    assert gone.status_code == 401
    assert not alive(app, cookie)
    # When the timer fires early, it signs out itself rather than wait for the server.
    signed_in(client, runtime, make_user(runtime, "second@clinic.example", "clinician"))
    early = client.cookies[SESSION_COOKIE]
    token = csrf(client)
    clock.advance(minutes=IDLE, seconds=-1)
    ended = client.post(
        "/logout",
        headers={"X-CSRF-Token": token},
        data={"reason": "idle"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert not alive(app, early)
    with runtime.db.sessions() as session:
        logouts = entries_with_action(session, ["identity:logout:success"])
    assert [e.details.get("reason") for e in logouts] == ["idle"]


def test_the_page_deadline_never_outlasts_the_server(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    assert seconds_on_page(client) == IDLE * 60
    clock.advance(seconds=45)  # inside the touch interval: the page still counts from sign-in
    assert seconds_on_page(client) <= IDLE * 60
    clock.advance(minutes=5)
    assert seconds_on_page(client) == IDLE * 60, "a page view is activity"


def test_an_active_person_is_never_logged_off_even_with_a_short_limit(
    runtime: Runtime, clock: FrozenClock
) -> None:
    short = runtime.settings.model_copy(update={"session_idle_minutes_staff": 1})
    quick = open_runtime(short)
    try:
        with TestClient(create_app(quick)) as client:
            signed_in(client, quick, make_admin(quick))
            for _ in range(9):  # three minutes of work, a click every 20 seconds
                clock.advance(seconds=20)
                assert client.get("/account/security", follow_redirects=False).status_code == 200
            clock.advance(minutes=1)
            gone = client.get("/account/security", follow_redirects=False)
            assert gone.headers["location"].startswith("/login")
    finally:
        quick.close()


def test_staying_signed_in_from_the_warning_counts_as_activity(
    app: FastAPI, client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_in(client, runtime, make_admin(runtime))
    cookie = client.cookies[SESSION_COOKIE]
    clock.advance(minutes=IDLE - 1)
    assert client.get("/api/v1/session/ping").json()["seconds_left"] == IDLE * 60
    clock.advance(minutes=IDLE - 1)
    assert alive(app, cookie)


def test_idle_sessions_are_ended_and_audited_by_the_server_itself(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    """Nobody comes back: the server still ends the session at its limit, once."""
    signed_in(client, runtime, make_user(runtime, "clin@clinic.example", "clinician"))
    clock.advance(minutes=IDLE - 1)
    assert end_expired_sessions(runtime) == 0
    clock.advance(minutes=1)
    assert end_expired_sessions(runtime) == 1
    assert end_expired_sessions(runtime) == 0
    with runtime.db.sessions() as session:
        assert session.scalar(select(WebSession.id)) is None
        (entry,) = entries_with_action(session, ["identity:session:expired"])
    assert entry.details["reason"] == "idle"
    assert entry.actor == "system"
