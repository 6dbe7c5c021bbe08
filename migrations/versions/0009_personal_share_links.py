"""personal share links (issue 11): the links, their retired codes, the source of an
invitation and the organisation's share-link settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:32:13
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
import portal.types  # noqa: F401


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('share_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('campaign', sa.Boolean(), nullable=False),
    sa.Column('code_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sealed_code', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('joins', sa.Integer(), nullable=False),
    sa.Column('code_issued_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_digest'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('share_link', schema=None) as batch_op:
        batch_op.create_index('ix_share_link_owner_id', ['organization_id', 'owner_id', 'id'], unique=False)
        batch_op.create_index('uq_share_link_default', ['owner_id'], unique=True, sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))

    op.create_table('share_link_retired_code',
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('share_link_id', sa.Integer(), nullable=False),
    sa.Column('retired_at', portal.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['share_link_id'], ['share_link.id'], ),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('share_link_retired_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_link_retired_code_share_link_id'), ['share_link_id'], unique=False)

    # Existing invitations all came by e-mail (the server default fills them in).
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default='email'))
        batch_op.add_column(sa.Column('share_link_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_invitation_share_link_id', ['share_link_id', 'id'], unique=False)
        batch_op.create_foreign_key('fk_invitation_share_link_id', 'share_link', ['share_link_id'], ['id'])

    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_links_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('share_link_max_joins', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('share_link_lifetime_days', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('invitation_settings', schema=None) as batch_op:
        batch_op.drop_column('share_link_lifetime_days')
        batch_op.drop_column('share_link_max_joins')
        batch_op.drop_column('share_links_enabled')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invitation_share_link_id', type_='foreignkey')
        batch_op.drop_index('ix_invitation_share_link_id')
        batch_op.drop_column('share_link_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('share_link_retired_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_link_retired_code_share_link_id'))

    op.drop_table('share_link_retired_code')
    with op.batch_alter_table('share_link', schema=None) as batch_op:
        batch_op.drop_index('uq_share_link_default', sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))
        batch_op.drop_index('ix_share_link_owner_id')

    op.drop_table('share_link')
