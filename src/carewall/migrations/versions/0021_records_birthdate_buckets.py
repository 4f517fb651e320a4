"""records: Patient birth dates are searched like clinical dates (bucket terms, re-index)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 10:00:00

`birthdate` was one exact blind-index term (the day as written), so it took no
prefix, no partial date and no range. It is now the Patient's date parameter
(`records.store.dates.DATE_PARAMS`): four bucket terms (decade, year, month,
day) like every clinical date, and the old `birthdate` term is no longer
written or looked up. Terms are keyed HMACs over decrypted content, which
migrations cannot read: this revision schedules the re-index task when the
vault holds rows, and `records.store.reindex` rewrites each current version's
terms when the runtime opens (as revisions 0017 and 0019 did); until it has
run no search is served, since every start finishes it first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    bind = op.get_bind()
    patients = sa.text("SELECT 1 FROM fhir_resources WHERE resource_type = 'Patient' LIMIT 1")
    if not bind.execute(patients).first():
        return
    pending = bind.execute(
        sa.text("SELECT 1 FROM records_index_tasks WHERE name = :name"), {"name": REINDEX_TASK}
    ).first()
    if pending:  # start a pass under way again from the beginning: it rebuilds the terms too
        bind.execute(
            sa.text("UPDATE records_index_tasks SET after = '' WHERE name = :name"),
            {"name": REINDEX_TASK},
        )
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
    """Older code looks birth dates up by the `birthdate` term: schedule a re-index after a
    downgrade (`carewall records reindex`) so that it is written again."""
