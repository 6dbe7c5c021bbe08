"""Configuration safety, the migrations, and the administration commands."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

from portal import create_app
from portal.config import InsecureConfiguration
from portal.models import Member, Organization
from portal.orgs.service import DEMO_MEMBERS, DEMO_PASSWORD
from tests.conftest import app_config


def test_production_refuses_to_start_without_a_secret_key(database_url, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY is not set"):
        create_app({"DATABASE_URL": database_url})


def test_production_cookies_are_secure(database_url):
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "x" * 64, "PORTAL_ENV": "production"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_overrides_defaults(database_url, monkeypatch):
    monkeypatch.setenv("PORTAL_BASE_URL", "https://members.example.org/")
    monkeypatch.setenv("MAIL_PORT", "2525")
    config = app_config(database_url)
    del config["PORTAL_BASE_URL"]
    app = create_app(config)
    assert app.config["PORTAL_BASE_URL"] == "https://members.example.org"
    assert app.config["MAIL_PORT"] == 2525


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_seed_demo_creates_one_member_per_role_once(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["portal", "seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output and "admin@demo-club.org" in first.output
    second = runner.invoke(args=["portal", "seed-demo", "--if-empty"])
    assert "already has data" in second.output
    assert len(session.exec(select(Organization)).all()) == 1
    roles = sorted(m.role for m in session.exec(select(Member)).all())
    assert roles == sorted(role.value for _, _, role, _ in DEMO_MEMBERS)


def test_create_org_and_member_commands(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["portal", "create-org", "--name", "Chess Club", "--unit", "Downtown"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "portal",
            "create-member",
            "--org",
            "chess-club",
            "--email",
            "Kasparov@Example.org",
            "--name",
            "Garry",
            "--role",
            "HR_LOCAL",
            "--unit",
            "Downtown",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code == 0, result.output
    member = session.exec(select(Member)).one()
    assert (member.email, member.role) == ("kasparov@example.org", "HR_LOCAL")
    duplicate = runner.invoke(
        args=[
            "portal",
            "create-member",
            "--org",
            "chess-club",
            "--email",
            "kasparov@example.org",
            "--name",
            "G",
            "--password",
            "long enough",
        ]
    )
    assert duplicate.exit_code != 0
    assert "already has an account" in duplicate.output
