"""The demo practice, step by step; each domain appends its seeder here."""

from __future__ import annotations

from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder


def _keys(runtime: Runtime) -> None:
    """Create the web data keys up front so the demo starts with a keyed vault."""
    runtime.keys.data_key("web-csrf")


SEEDERS: list[Seeder] = [Seeder("core-keys", _keys)]
