"""analytics: daily counts of invitations, kept by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:10:00

A year of a large organisation's invitations is a million rows to aggregate on every view of
the analytics page; the same counts per (day, unit, inviter) are a few thousand. Triggers
keep them, not the application, so every way of writing an invitation (the services, a
bulk insert, a manual fix in psql) keeps them true. Invitations are never deleted, so
there is no delete trigger.

The expressions mirror portal/analytics/queries.py::report_from_invitations; a test
(tests/unit/test_analytics_daily.py) checks the two agree.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# The columns whose change moves an invitation between counts.
WATCHED = (
    'organization_id', 'created_at', 'unit_id', 'inviter_id', 'source', 'delivery_status',
    'first_visited_at', 'accepted_at',
)
# JOIN_DELAYS in portal/analytics/queries.py: (column, at least, under) days.
DELAY_BARS = (
    ('joined_within_1d', None, 1),
    ('joined_within_3d', 1, 3),
    ('joined_within_7d', 3, 7),
    ('joined_within_14d', 7, 14),
    ('joined_later', 14, None),
)
COUNTS = (
    'sent', 'delivered', 'opened', 'joined', 'link_joins', *(c for c, _lo, _hi in DELAY_BARS)
)


def _keys(dialect: str, row: str) -> list[str]:
    day = f'CAST({row}.created_at AS DATE)' if dialect == 'postgresql' else f'date({row}.created_at)'
    return [f'{row}.organization_id', day, f'COALESCE({row}.unit_id, 0)', f'{row}.inviter_id']


def _counts(dialect: str, row: str, sign: int) -> list[str]:
    """One invitation's part of each count: `sign` where it counts, else 0."""
    if dialect == 'postgresql':
        days = f'EXTRACT(EPOCH FROM {row}.accepted_at - {row}.created_at) / 86400.0'
    else:
        days = f'(julianday({row}.accepted_at) - julianday({row}.created_at))'
    emailed = f"{row}.source = 'email'"
    joined = f'{emailed} AND {row}.accepted_at IS NOT NULL'
    conditions = [
        emailed,
        f"{emailed} AND {row}.delivery_status = 'sent'",
        f'{emailed} AND {row}.first_visited_at IS NOT NULL',
        joined,
        f"{row}.source = 'link'",
    ]
    for _column, lower, upper in DELAY_BARS:
        bar = joined
        if lower is not None:
            bar += f' AND {days} >= {lower}'
        if upper is not None:
            bar += f' AND {days} < {upper}'
        conditions.append(bar)
    return [f'CASE WHEN {c} THEN {sign} ELSE 0 END' for c in conditions]


COLUMNS = f'organization_id, day, unit_id, inviter_id, {", ".join(COUNTS)}'


def _upsert(dialect: str, row: str, sign: int) -> str:
    """Add (sign 1) or take away (-1) one invitation's part of its day's counts."""
    values = ', '.join(_keys(dialect, row) + _counts(dialect, row, sign))
    updates = ', '.join(f'{c} = invitation_daily.{c} + excluded.{c}' for c in COUNTS)
    return (
        f'INSERT INTO invitation_daily ({COLUMNS}) VALUES ({values}) '
        f'ON CONFLICT (organization_id, day, unit_id, inviter_id) DO UPDATE SET {updates};'
    )


def _backfill(dialect: str) -> str:
    """The invitations already there, counted in one grouped pass (cheaper than letting an
    update of every row go through the trigger)."""
    keys = _keys(dialect, 'invitation')
    sums = [f'SUM({c})' for c in _counts(dialect, 'invitation', 1)]
    return (
        f'INSERT INTO invitation_daily ({COLUMNS}) SELECT {", ".join(keys + sums)} '
        f'FROM invitation GROUP BY {", ".join(keys)}'
    )


def upgrade() -> None:
    op.create_table(
        'invitation_daily',
        sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('inviter_id', sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default='0') for c in COUNTS),
        sa.PrimaryKeyConstraint('organization_id', 'day', 'unit_id', 'inviter_id'),
    )
    dialect = op.get_bind().dialect.name
    watched = ', '.join(WATCHED)
    if dialect == 'postgresql':
        op.execute(
            'CREATE FUNCTION invitation_daily_count() RETURNS trigger LANGUAGE plpgsql AS $$\n'
            'BEGIN\n'
            f"  IF TG_OP = 'UPDATE' THEN {_upsert(dialect, 'OLD', -1)} END IF;\n"
            f"  {_upsert(dialect, 'NEW', 1)}\n"
            '  RETURN NULL;\n'
            'END $$'
        )
        op.execute(
            'CREATE TRIGGER invitation_daily_insert AFTER INSERT ON invitation '
            'FOR EACH ROW EXECUTE FUNCTION invitation_daily_count()'
        )
        op.execute(
            f'CREATE TRIGGER invitation_daily_update AFTER UPDATE OF {watched} ON invitation '
            'FOR EACH ROW EXECUTE FUNCTION invitation_daily_count()'
        )
    else:
        op.execute(
            'CREATE TRIGGER invitation_daily_insert AFTER INSERT ON invitation BEGIN '
            f"{_upsert(dialect, 'NEW', 1)} END"
        )
        op.execute(
            f'CREATE TRIGGER invitation_daily_update AFTER UPDATE OF {watched} ON invitation '
            f"BEGIN {_upsert(dialect, 'OLD', -1)} {_upsert(dialect, 'NEW', 1)} END"
        )
    op.execute(_backfill(dialect))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    # IF EXISTS: on SQLite a later downgrade that rebuilt the table has dropped them already.
    for trigger in ('invitation_daily_insert', 'invitation_daily_update'):
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}' + (' ON invitation' if postgres else ''))
    if postgres:
        op.execute('DROP FUNCTION invitation_daily_count()')
    op.drop_table('invitation_daily')
