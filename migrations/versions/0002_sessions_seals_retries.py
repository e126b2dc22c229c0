"""issue 10: sessions, sign-in throttle, settings, seals, masked documents, command retries

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 12:27:24.345639
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types  # noqa: F401  (the column types the models declare)


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loginthrottle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('websession',
    sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['user.username'], ),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_websession_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_websession_username'), ['username'], unique=False)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('command', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_command_status'), ['status'], unique=False)

    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_column('failed_attempts')
        batch_op.drop_column('locked_until')

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('masked_content', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('masked_sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', models.types.AwareDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('seal')
        batch_op.drop_column('masked_sha256')
        batch_op.drop_column('masked_content')

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DATETIME(), nullable=True))
        batch_op.add_column(sa.Column('failed_attempts', sa.INTEGER(), server_default='0', nullable=False))

    with op.batch_alter_table('command', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_command_status'))
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('seal')

    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_websession_username'))
        batch_op.drop_index(batch_op.f('ix_websession_expires_at'))

    op.drop_table('websession')
    op.drop_table('setting')
    op.drop_table('loginthrottle')
