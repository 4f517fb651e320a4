"""records: a Period is searched as the range it spans (start and end terms, re-index)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 14:00:00

A Period was found by its start only, so `date=ge2024-04-05` missed an encounter
from the 1st to the 10th, and every ongoing one. FHIR compares the range a
target spans, so a Period now carries the four bucket terms of its start
(`start:c` to `start:d`, where they were `date:*`) and the four of its end
(`end:*`; an open end four marker terms); single dates keep their `date:*`
terms (`records.store.dates`). Terms are keyed HMACs over decrypted content,
which migrations cannot read: this revision schedules the re-index task when the
vault holds dated rows, and `records.store.reindex` rewrites each current
version's terms when the runtime opens (as revisions 0017, 0019, 0021 and 0022
did); until it has run no search is served, since every start finishes it first.
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
    """Older code finds a Period by a `date:*` term of its start: schedule a re-index
    after a downgrade (`carewall records reindex`) so that those terms are written again."""
