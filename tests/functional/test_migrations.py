"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carewall.core.db import Base
from carewall.core.runtime import Runtime
from carewall.registry import import_models


def test_models_and_migrations_agree(runtime: Runtime) -> None:
    import_models()
    with runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "write a migration (docs/architecture.md, 'Writing a migration')"
