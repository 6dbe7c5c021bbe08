"""Upgrading a database that already holds data (the tests' own database starts empty)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from portal.db import make_engine
from portal.migrate import upgrade


def test_upgrading_a_sqlite_database_with_rows_keeps_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0002")
    now = "2026-01-01 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organization (id, name, slug, description, brand_color, logo_url, "
                "created_at) VALUES (1, 'Old Club', 'old', '', '#000000', '', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO member (id, public_id, organization_id, email, full_name, role, "
                "status, created_at) VALUES "
                "(1, 'mb-1', 1, 'a@example.org', 'A', 'USER', 'active', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO invitation (id, public_id, organization_id, inviter_id, email, "
                "full_name, message, secret_digest, status, created_at, updated_at, sent_at, "
                "expires_at, "
                "delivery_status, delivery_error, send_count) VALUES (1, 'iv-1', 1, 1, "
                "'b@example.org', '', '', 'd', 'PENDING', :now, :now, :now, :now, 'sent', '', 1)"
            ),
            {"now": now},
        )
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT email, first_name, template_id FROM invitation")).one()
        assert tuple(row) == ("b@example.org", "", None)
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        # The analytics' daily counts (0012) start with the invitations already there.
        daily = conn.execute(text("SELECT day, sent, delivered, joined FROM invitation_daily"))
        assert [tuple(r) for r in daily] == [("2026-01-01", 1, 1, 0)]
    engine.dispose()


def test_a_failed_sqlite_upgrade_leaves_nothing_half_done(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'half.sqlite3'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:  # a table in the way of migration 0003
        conn.execute(text("CREATE TABLE api_token (id INTEGER PRIMARY KEY)"))
    with pytest.raises(OperationalError, match="already exists"):
        upgrade(engine)
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert "email_template" not in tables and version == "0002"
    engine.dispose()


def test_the_longest_validity_is_never_below_an_existing_expiry(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'validity.sqlite3'}")
    upgrade(engine, "0004")
    with engine.begin() as conn:
        for org_id, expiry in ((1, 14), (2, 90)):
            conn.execute(
                text(
                    "INSERT INTO organization (id, name, slug, description, brand_color, "
                    "logo_url, created_at) VALUES (:id, 'Club', :slug, '', '#000000', '', "
                    "'2026-01-01 10:00:00')"
                ),
                {"id": org_id, "slug": f"club-{org_id}"},
            )
            conn.execute(
                text(
                    "INSERT INTO invitation_settings (organization_id, enabled, "
                    "min_inviter_role, expiry_days, daily_limit_per_member, bind_invitee_email, "
                    "updated_at) VALUES (:id, 1, 'USER', :expiry, 50, 1, '2026-01-01 10:00:00')"
                ),
                {"id": org_id, "expiry": expiry},
            )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT organization_id, max_validity_days FROM invitation_settings ORDER BY 1")
        ).all()
    assert [tuple(r) for r in rows] == [(1, 60), (2, 90)]
    engine.dispose()
