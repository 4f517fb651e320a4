"""records: identifiers are indexed as written, not normalised (re-index)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:00:00

An identifier's terms were its value lowercased, accents stripped and spaces
collapsed, so `AB-12 34` and `ab-12 34` were one identifier to search, and to a
conditional create or reference: a feed creating the second patient was answered
with the first, and filed its results under them. Identifier terms now keep the
value as written, only the spaces around it trimmed (`records.store.terms.
token_value`). Terms are keyed HMACs over decrypted content, which migrations
cannot read: this revision schedules the re-index task when the vault holds rows,
and `records.store.reindex` rewrites each current version's terms when the
runtime opens (as revisions 0017, 0019 and 0021 did); until it has run no search
is served, since every start finishes it first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    bind = op.get_bind()
    identified = sa.text("SELECT 1 FROM fhir_search_index WHERE param = 'identifier' LIMIT 1")
    if not bind.execute(identified).first():
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
    """Older code looks identifiers up by their normalised value: schedule a re-index after
    a downgrade (`carewall records reindex`) so that those terms are written again."""
