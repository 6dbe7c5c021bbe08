"""an index for the dashboard's capped counts of pending and past-due invitations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:40:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(
            'ix_invitation_org_status_expires', ['organization_id', 'status', 'expires_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_org_status_expires')
