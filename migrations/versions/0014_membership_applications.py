"""adhesion: membership settings, registration questions, membership applications

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
import portal.types  # noqa: F401


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('membership_settings',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('waiver_min_role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('open_registration', sa.Boolean(), nullable=False),
    sa.Column('reason_mode', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('updated_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id')
    )
    op.create_table('registration_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('registration_question', schema=None) as batch_op:
        batch_op.create_index('ix_registration_question_org_pos', ['organization_id', 'position'], unique=False)

    op.create_table('membership_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('sponsor_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', portal.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['sponsor_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('membership_application', schema=None) as batch_op:
        batch_op.create_index('ix_application_org_status_id', ['organization_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_application_unit_status_id', ['organization_id', 'unit_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_application_sponsor_status', ['sponsor_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_application_invitation_id'), ['invitation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('membership_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_application_invitation_id'))
        batch_op.drop_index('ix_application_sponsor_status')
        batch_op.drop_index('ix_application_unit_status_id')
        batch_op.drop_index('ix_application_org_status_id')
    op.drop_table('membership_application')
    with op.batch_alter_table('registration_question', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_question_org_pos')
    op.drop_table('registration_question')
    op.drop_table('membership_settings')
