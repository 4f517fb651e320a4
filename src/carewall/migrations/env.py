"""Alembic environment: runs on the connection that `Database.migrate` hands over.

Every registered domain's models are imported (`carewall.registry.import_models`)
so their tables are on `Base.metadata`, which autogenerate compares with the
database when a new revision is written (see docs/architecture.md, "Writing a
migration").
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from carewall.core.db import Base, UTCDateTime
from carewall.registry import import_models

import_models()
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its own CLI
    raise RuntimeError("Run migrations through `carewall init` or `carewall serve`.")


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our UTC column type as the plain `sa.DateTime(timezone=True)` it stores as.

    A revision is frozen history: it must not import the application's types,
    which may change or move after it is written.
    """
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
