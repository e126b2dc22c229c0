"""issue 14 (scale): drop two indexes that repeat the leading column of a unique key

`verificationvisit.child_id` is the first column of the unique (child_id, period) key, and
`childcategory.child_id` the first of the unique (child_id, category, started_on) key: both keys
answer every lookup by child, so the single-column indexes only cost time on every insert — ten
million of them when a province's quarterly round starts (bench/province.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verificationvisit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verificationvisit_child_id"))
    with op.batch_alter_table("childcategory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_childcategory_child_id"))


def downgrade() -> None:
    with op.batch_alter_table("childcategory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_childcategory_child_id"), ["child_id"], unique=False)
    with op.batch_alter_table("verificationvisit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verificationvisit_child_id"), ["child_id"], unique=False)
