"""issue 16 §5–6: one child, one file (`childmerge`, `child.merged_into`) and retention (`child.identity_removed_at`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types  # noqa: F401  (the column types the models declare)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "childmerge",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("keep_id", sa.Uuid(), nullable=False),
        sa.Column("other_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("merged_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("merged_at", models.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("unmerged_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("unmerged_at", models.types.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["keep_id"], ["child.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("childmerge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_childmerge_jurisdiction"), ["jurisdiction"], unique=False)
        batch_op.create_index(batch_op.f("ix_childmerge_keep_id"), ["keep_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_childmerge_other_id"), ["other_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_childmerge_status"), ["status"], unique=False)
    # Plain ALTER TABLE … ADD COLUMN, no foreign key: a batch copy of `child` would have to drop the table
    # that cases, guardians and visits reference, which SQLite's foreign keys refuse.
    op.add_column("child", sa.Column("merged_into", sa.Uuid(), nullable=True))
    op.add_column("child", sa.Column("identity_removed_at", models.types.AwareDateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_child_merged_into"), "child", ["merged_into"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_child_merged_into"), table_name="child")
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_column("identity_removed_at")
        batch_op.drop_column("merged_into")
    with op.batch_alter_table("childmerge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_childmerge_status"))
        batch_op.drop_index(batch_op.f("ix_childmerge_other_id"))
        batch_op.drop_index(batch_op.f("ix_childmerge_keep_id"))
        batch_op.drop_index(batch_op.f("ix_childmerge_jurisdiction"))
    op.drop_table("childmerge")
