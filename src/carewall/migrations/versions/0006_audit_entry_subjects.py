"""audit: index entries about several subjects (multi-patient searches)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00

Existing searches that listed the patients they returned (up to 20 before this
revision) are indexed under each of them, so they appear in those patients'
access lists too.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HASH_BYTES = 32
_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "audit_entry_subjects",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entries.seq"]),
        sa.PrimaryKeyConstraint("subject", "seq"),
    )
    _index_existing_searches()


def _index_existing_searches() -> None:
    connection = op.get_bind()
    table = sa.table(
        "audit_entry_subjects", sa.column("subject", sa.String), sa.column("seq", sa.BigInteger)
    )
    query = sa.text(
        "SELECT seq, subject, body FROM audit_entries "
        "WHERE action = 'records:search:performed' AND subject NOT LIKE 'Patient/%' "
        "AND seq > :after ORDER BY seq LIMIT :batch"
    )
    after = 0
    while batch := list(connection.execute(query, {"after": after, "batch": _BATCH})):
        rows = [
            {"subject": s, "seq": seq}
            for seq, subject, body in batch
            for s in _patients(bytes(body))
            if s != subject
        ]
        if rows:
            connection.execute(table.insert(), rows)
        after = batch[-1][0]


def _patients(body: bytes) -> list[str]:
    """`Patient/ID` for each id a search entry's hashed details list."""
    details = json.loads(body[_HASH_BYTES:].decode("utf-8")).get("details") or {}
    ids = details.get("patient_ids")
    if not isinstance(ids, list):
        return []
    return sorted({f"Patient/{i}" for i in ids if isinstance(i, str) and i})


def downgrade() -> None:
    op.drop_table("audit_entry_subjects")
