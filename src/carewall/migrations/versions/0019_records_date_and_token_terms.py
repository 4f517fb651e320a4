"""records: clinical dates, token systems and Provenance targets get search terms (re-index)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 22:30:00

FHIR search now answers clinical-date ranges (`date`, `onset-date`,
`authoredon`: day, month, year and decade bucket terms, `records.store.dates`),
the token forms `system|` and `|code`, and `_revinclude=Provenance:target`, all
through new blind-index terms of current versions. Terms are keyed HMACs over
decrypted content, which migrations cannot read: this revision schedules the
re-index task when the vault holds rows, and `records.store.reindex` writes
the terms when the runtime opens (as revision 0017 did for name prefixes).
`_lastUpdated` needs nothing: it is the plain `last_updated` column, which
gets an index for its ranges and its sort.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    op.create_index(
        "ix_fhir_type_updated",
        "fhir_resources",
        ["resource_type", "is_current", "last_updated"],
    )
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM fhir_resources LIMIT 1")).first():
        return
    pending = bind.execute(
        sa.text("SELECT 1 FROM records_index_tasks WHERE name = :name"), {"name": REINDEX_TASK}
    ).first()
    if pending:  # a scheduled pass starts from the beginning and rebuilds the terms too
        return
    tasks = sa.table(
        "records_index_tasks",
        sa.column("name", sa.String),
        sa.column("after", sa.String),
        sa.column("examined", sa.Integer),
        sa.column("changed", sa.Integer),
    )
    op.bulk_insert(tasks, [{"name": REINDEX_TASK, "after": "", "examined": 0, "changed": 0}])


def downgrade() -> None:
    """The extra terms are harmless to older code, which never looks them up."""
    op.drop_index("ix_fhir_type_updated", table_name="fhir_resources")
