"""Throttling counters live in the database, so they hold across server processes."""

from __future__ import annotations

import re

import httpx
import pytest

from carewall.core.config import Settings
from carewall.core.runtime import open_runtime
from carewall.identity import accounts
from carewall.identity.errors import GENERIC_LOGIN_FAILURE
from tests.support.factories import CLI, PASSWORD
from tests.support.server import LiveServer, start_server


def attempt(server: LiveServer, client: httpx.Client, email: str, password: str) -> int:
    page = client.get(f"{server.url}/login")
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert token
    response = client.post(
        f"{server.url}/login",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
    )
    if response.status_code == 401:
        assert GENERIC_LOGIN_FAILURE in response.text
    return response.status_code


@pytest.mark.postgres
def test_two_app_processes_share_the_counters(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("the multi-process deployment runs on PostgreSQL")
    runtime = open_runtime(settings)
    accounts.create_admin(runtime, "admin@clinic.example", PASSWORD, CLI)
    runtime.close()
    env = {"CAREWALL_DATABASE_URL": settings.effective_database_url}
    servers = [start_server(settings.home, extra_env=env) for _ in range(2)]
    try:
        clients = [httpx.Client(timeout=30, follow_redirects=False) for _ in servers]
        for n in range(10):  # alternate between the two processes
            server, client = servers[n % 2], clients[n % 2]
            assert attempt(server, client, "admin@clinic.example", "wrong password here") == 401
        # The eleventh attempt, right password, on either process: refused.
        assert attempt(servers[0], clients[0], "admin@clinic.example", PASSWORD) == 401
        assert attempt(servers[1], clients[1], "admin@clinic.example", PASSWORD) == 401
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
