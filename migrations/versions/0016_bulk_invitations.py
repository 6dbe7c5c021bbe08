"""bulk invitations from a CSV file: jobs and their rows

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:10:00
"""
from alembic import op
import sqlalchemy as sa

import portal.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bulk_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('valid_count', sa.Integer(), nullable=False),
        sa.Column('invalid_count', sa.Integer(), nullable=False),
        sa.Column('duplicate_count', sa.Integer(), nullable=False),
        sa.Column('member_count', sa.Integer(), nullable=False),
        sa.Column('invited_count', sa.Integer(), nullable=False),
        sa.Column('sent_count', sa.Integer(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        sa.Column('raised_limit', sa.Integer(), nullable=True),
        sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
        sa.Column('queued_at', portal.types.UTCDateTime(), nullable=True),
        sa.Column('finished_at', portal.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['member.id']),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('public_id'),
    )
    op.create_index('ix_bulk_job_creator_id', 'bulk_job', ['created_by_id', 'id'])
    op.create_index('ix_bulk_job_status_created', 'bulk_job', ['status', 'created_at'])
    op.create_table(
        'bulk_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=False),
        sa.Column('message', sa.String(length=1000), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id']),
        sa.ForeignKeyConstraint(['job_id'], ['bulk_job.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_bulk_row_job_line', 'bulk_row', ['job_id', 'line'], unique=True)
    op.create_index('ix_bulk_row_job_outcome_line', 'bulk_row', ['job_id', 'outcome', 'line'])


def downgrade() -> None:
    op.drop_index('ix_bulk_row_job_outcome_line', table_name='bulk_row')
    op.drop_index('uq_bulk_row_job_line', table_name='bulk_row')
    op.drop_table('bulk_row')
    op.drop_index('ix_bulk_job_status_created', table_name='bulk_job')
    op.drop_index('ix_bulk_job_creator_id', table_name='bulk_job')
    op.drop_table('bulk_job')
