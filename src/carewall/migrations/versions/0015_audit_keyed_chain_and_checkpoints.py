"""audit: keyed chain (a MAC per entry) and signed checkpoints

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:00:00

A migration cannot reach the key-encryption key, so it cannot MAC the entries
that exist. It does not try: it records the head of the chain as it is now in
`audit_chain_state.unkeyed_through` (0 on a new database), and the entries up
to there stay as they were, verified by their SHA-256 links. Every entry after
it carries a MAC. The first start after this revision signs a checkpoint that
states the boundary; later checkpoints repeat it, so moving the boundary to
exempt newer entries is caught (docs/threat-model.md, "The keyed chain").
Nothing ever MACs an existing entry: such a step could be made to bless an
edit, so there is none.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.LargeBinary(length=32), nullable=True))
    state = op.create_table(
        "audit_chain_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unkeyed_through", sa.BigInteger(), nullable=False),
        sa.Column("keyed_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_seq", ["seq"], unique=False)
    head = op.get_bind().execute(sa.text("SELECT MAX(seq) FROM audit_entries")).scalar()
    op.bulk_insert(
        state, [{"id": 1, "unkeyed_through": int(head or 0), "keyed_since": datetime.now(UTC)}]
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_checkpoints_seq")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_state")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("mac")
