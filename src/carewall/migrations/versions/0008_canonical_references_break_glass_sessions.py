"""records: re-index patient references in their canonical form; break-glass per session

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00

`patient_ref` is a keyed blind index of the Patient id a version names. Before
this revision the id was read only from `Patient/{id}` exactly, so a version
naming its patient another way (this server's URL, lower case, a query...)
was filed under no patient. Re-deriving it needs the key ring, which
migrations do not have: this revision schedules the work (`records_index_tasks`)
when the vault holds rows, and `records.reindex.reindex_references` does it
when the runtime opens (`carewall serve`, `init` and every command run it;
`carewall records reindex` too). It resumes where it stopped.

Break-glass grants now belong to the browser session that started them
(`channel`): grants started before this revision have none and open nothing
any more (they still end, and are audited, at their expiry).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REINDEX_TASK = "patient-references"


def upgrade() -> None:
    tasks = op.create_table(
        "records_index_tasks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("after", sa.String(length=36), nullable=False),
        sa.Column("examined", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    assert tasks is not None
    if op.get_bind().execute(sa.text("SELECT 1 FROM fhir_resources LIMIT 1")).first():
        op.bulk_insert(tasks, [{"name": REINDEX_TASK, "after": "", "examined": 0, "changed": 0}])
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.drop_column("channel")
    op.drop_table("records_index_tasks")
