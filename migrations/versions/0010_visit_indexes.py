"""issue 14 (scale): the verification visits' indexes fit the questions asked of them

Five single-column indexes (jurisdiction, unit, period, status, due_at) gave way to three that
answer whole questions: the village's list (unit, period), a county's round and its counts
(jurisdiction, period, status), the month's and the digest's overdue visits (jurisdiction, due_at).
Each insert of a province's round (ten million visits, bench/province.py) writes three index entries
besides the keys instead of five.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SINGLE = ("jurisdiction", "unit", "period", "status", "due_at")
COMPOSITE = {
    "ix_verificationvisit_unit_period": ["unit", "period"],
    "ix_verificationvisit_jurisdiction_period_status": ["jurisdiction", "period", "status"],
    "ix_verificationvisit_jurisdiction_due_at": ["jurisdiction", "due_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("verificationvisit", schema=None) as batch_op:
        for column in SINGLE:
            batch_op.drop_index(f"ix_verificationvisit_{column}")
        for name, columns in COMPOSITE.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verificationvisit", schema=None) as batch_op:
        for name in COMPOSITE:
            batch_op.drop_index(name)
        for column in SINGLE:
            batch_op.create_index(f"ix_verificationvisit_{column}", [column], unique=False)
