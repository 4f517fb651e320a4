"""Alembic environment: runs on the connection that `Database.migrate` hands over.

Every registered domain's models are imported (`carewall.registry.import_models`)
so their tables are on `Base.metadata`, which autogenerate compares with the
database when a new revision is written (see docs/architecture.md, "Writing a
migration").
"""

from __future__ import annotations

from alembic import context

from carewall.core.db import Base
from carewall.registry import import_models

import_models()
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its own CLI
    raise RuntimeError("Run migrations through `carewall init` or `carewall serve`.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
