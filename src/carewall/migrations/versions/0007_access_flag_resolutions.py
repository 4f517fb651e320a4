"""records: the security officer's decisions on patients' access flags

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_flag_resolutions",
        sa.Column("flag_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("flag_seq"),
    )


def downgrade() -> None:
    op.drop_table("access_flag_resolutions")
