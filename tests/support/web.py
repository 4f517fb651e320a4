"""Browsers on the test's app, beyond the `client` fixture."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

#: The `new_client` fixture: opens one more browser on the test's app (a second
#: person, an attacker's browser), closed after the test; `TestClient` options pass through.
NewClient = Callable[..., TestClient]
