"""events and their guests (issue 12): events, the guests members invite, the waiting list

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
import portal.types  # noqa: F401


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('organizer_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('ends_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('online_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('guests_per_member', sa.Integer(), nullable=False),
    sa.Column('accepted_count', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['organizer_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_org_ends_id', ['organization_id', 'ends_at', 'id'], unique=False)

    op.create_table('event_guest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('token_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sealed_token', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('waiting_since', portal.types.UTCDateTime(), nullable=True),
    sa.Column('answered_at', portal.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['host_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id'),
    sa.UniqueConstraint('token_digest')
    )
    with op.batch_alter_table('event_guest', schema=None) as batch_op:
        batch_op.create_index('uq_event_guest_email', ['event_id', 'email'], unique=True)
        batch_op.create_index('ix_event_guest_event_id', ['event_id', 'id'], unique=False)
        batch_op.create_index('ix_event_guest_host', ['event_id', 'host_id', 'status'], unique=False)
        batch_op.create_index('ix_event_guest_waiting', ['event_id', 'status', 'waiting_since', 'id'], unique=False)
        batch_op.create_index('ix_event_guest_email', ['organization_id', 'email'], unique=False)


def downgrade() -> None:
    op.drop_table('event_guest')
    op.drop_table('event')
