"""phishing: reported mail for the security officer's triage

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("raw_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_reports", schema=None) as batch_op:
        batch_op.create_index("ix_mail_reports_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index(
            "ix_mail_reports_status_received_at", ["status", "received_at"], unique=False
        )
        batch_op.create_index("ix_mail_reports_received_at", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_reports_received_at")
        batch_op.drop_index("ix_mail_reports_status_received_at")
        batch_op.drop_index("ix_mail_reports_reporter_id")
    op.drop_table("mail_reports")
