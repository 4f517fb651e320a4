"""records: a clinical date is searched as the range it spans (end terms, re-index)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 14:00:00

A Period was found by its start only, so `date=ge2024-04-05` missed an encounter
from the 1st to the 10th, and every ongoing one. FHIR compares the range a
target spans, so every dated resource now carries the four bucket terms of its
end (`end:c` to `end:d`; a single date's end is itself, an open end four marker
terms) beside the four of its start, whose terms did not change
(`records.store.dates`). Terms are keyed HMACs over decrypted content, which
migrations cannot read: this revision schedules the re-index task when the vault
holds dated rows, and `records.store.reindex` rewrites each current version's
terms when the runtime opens (as revisions 0017, 0019, 0021 and 0022 did);
until it has run no search is served, since every start finishes it first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    bind = op.get_bind()
    dated = sa.text("SELECT 1 FROM fhir_search_index WHERE param = 'date:d' LIMIT 1")
    if not bind.execute(dated).first():
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
    """Older code neither writes nor reads the end terms; they are left in place (a
    re-index after a downgrade, `carewall records reindex`, removes them)."""
