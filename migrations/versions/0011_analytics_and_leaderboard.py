"""analytics indexes and the leaderboard's settings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leaderboard_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('leaderboard_initials_only', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(
            'ix_invitation_org_created', ['organization_id', 'created_at'], unique=False,
            postgresql_include=['unit_id', 'inviter_id', 'delivery_status', 'first_visited_at', 'accepted_at', 'source'],
        )
        batch_op.create_index(
            'ix_invitation_org_accepted', ['organization_id', 'accepted_at'], unique=False,
            postgresql_include=['unit_id', 'inviter_id'],
        )


def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_org_accepted')
        batch_op.drop_index('ix_invitation_org_created')
    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.drop_column('leaderboard_initials_only')
        batch_op.drop_column('leaderboard_enabled')
