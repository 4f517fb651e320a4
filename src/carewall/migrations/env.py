"""Alembic environment: runs on the connection that `Database.migrate` hands over.

The model imports register every table on `Base.metadata`, which autogenerate
compares with the database when a new revision is written.
"""

from __future__ import annotations

from alembic import context

import carewall.audit.models
import carewall.core.models
import carewall.demo.framework
import carewall.identity.models
import carewall.phishing.models
import carewall.records.models  # noqa: F401
from carewall.core.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its own CLI
    raise RuntimeError("Run migrations through `carewall init` or `carewall serve`.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
