"""identity: forms kept across a step-up (bound to the session, sealed, single-use)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_up_pending",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("fields_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["web_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("step_up_pending", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_up_pending_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step_up_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_up_pending_session_id"))
    op.drop_table("step_up_pending")
