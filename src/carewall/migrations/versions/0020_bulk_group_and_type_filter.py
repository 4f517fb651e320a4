"""records: Bulk Data exports remember their Group and their `_typeFilter`

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 02:40:00

`Group/{id}/$export` and `_typeFilter` are decided at kick-off and carried out
by the queued task, which rebuilds the request from its `bulk_exports` row:
the Group's id (its members are read again, as the requester, on every page)
and the type filters as JSON (`[{"type": ..., "params": {...}}]`, parameter
names and values as the client sent them, checked at kick-off). Both are
null for the exports asked before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_exports") as batch:
        batch.add_column(sa.Column("group_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("type_filter", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulk_exports") as batch:
        batch.drop_column("type_filter")
        batch.drop_column("group_id")
