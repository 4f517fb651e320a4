"""risk: assessments, versioned answers, encrypted attachments, the register, cost figures

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:14:26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _audit_columns(prefix: str) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{prefix}_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(f"{prefix}_by", sa.String(length=120), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("org_size", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_audit_columns("started"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=120), nullable=True),
        sa.Column("previous_id", sa.String(length=36), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_risk_assessments_status", "risk_assessments", ["status", "completed_at"], unique=False
    )
    op.create_table(
        "risk_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("measured", sa.JSON(), nullable=True),
        *_audit_columns("created"),
        sa.ForeignKeyConstraint(["assessment_id"], ["risk_assessments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "assessment_id", "question_id", "version", name="uq_risk_answer_version"
        ),
    )
    op.create_table(
        "risk_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        *_audit_columns("created"),
        sa.ForeignKeyConstraint(["assessment_id"], ["risk_assessments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "assessment_id",
            "question_id",
            "filename",
            "version",
            name="uq_risk_attachment_version",
        ),
    )
    op.create_index(
        "ix_risk_attachments_question",
        "risk_attachments",
        ["assessment_id", "question_id"],
        unique=False,
    )
    op.create_table(
        "risk_register",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("threat", sa.String(length=16), nullable=False),
        sa.Column("asset", sa.String(length=300), nullable=False),
        sa.Column("vulnerability", sa.String(length=500), nullable=False),
        sa.Column("inherent_likelihood", sa.Integer(), nullable=False),
        sa.Column("inherent_impact", sa.Integer(), nullable=False),
        sa.Column("residual_likelihood", sa.Integer(), nullable=False),
        sa.Column("residual_impact", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_audit_columns("created"),
        *_audit_columns("updated"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "risk_cost_figures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("mode", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        *_audit_columns("updated"),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("risk_cost_figures")
    op.drop_table("risk_register")
    op.drop_index("ix_risk_attachments_question", table_name="risk_attachments")
    op.drop_table("risk_attachments")
    op.drop_table("risk_answers")
    op.drop_index("ix_risk_assessments_status", table_name="risk_assessments")
    op.drop_table("risk_assessments")
