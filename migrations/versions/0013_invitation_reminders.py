"""invitation reminders: the organisation's setting, when each invitation was reminded

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa

import portal.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

REMINDER_DUE = sa.text("status = 'PENDING' AND reminded_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', portal.types.UTCDateTime(), nullable=True))
        batch_op.create_index(
            'ix_invitation_reminder_due', ['organization_id', 'sent_at'], unique=False,
            sqlite_where=REMINDER_DUE, postgresql_where=REMINDER_DUE,
        )


def downgrade() -> None:
    op.drop_index('ix_invitation_reminder_due', table_name='invitation')
    # Not batch mode: on SQLite that rebuilds the table, which drops its triggers (0012's).
    op.execute('ALTER TABLE invitation DROP COLUMN reminded_at')
    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.drop_column('reminder_days')
