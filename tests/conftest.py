"""Test set-up: a fresh database per run (SQLite, or PostgreSQL with TEST_DATABASE_URL),
emptied after every test, and apps built with create_app like production."""

from __future__ import annotations

import os
import re
import smtplib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel
from werkzeug.test import TestResponse

from portal import create_app, passwords
from portal.db import make_engine
from portal.migrate import upgrade
from portal.models import Member, Organization, Unit
from portal.roles import Role
from tests.factories import PASSWORD, make_member, make_org, make_unit
from tests.mailserver import MailServer
from tests.receiver import Receiver
from tests.web.api_support import Api, make_token

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


CHEAP_PASSWORD_HASHING = {
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_COST": 1024,
    "PASSWORD_HASH_PARALLELISM": 1,
}


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> None:
    """For the services tested without an app (an app sets the same from its config)."""
    passwords.configure(*CHEAP_PASSWORD_HASHING.values())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database built by the real migrations, private to this test run."""
    if TEST_DATABASE_URL:
        # A schema of our own: nothing left over from other runs, nothing left behind.
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(TEST_DATABASE_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        url_str = url.render_as_string(hide_password=False)
        engine = make_engine(url_str)
        upgrade(engine)
        engine.dispose()
        yield url_str
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        path: Path = tmp_path_factory.mktemp("db") / "portal.sqlite3"
        url_str = f"sqlite:///{path}"
        engine = make_engine(url_str)
        upgrade(engine)
        engine.dispose()
        yield url_str


def app_config(database_url: str, **overrides: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "PORTAL_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "PORTAL_BASE_URL": "http://portal.test",
        # Still Argon2id, with the cost turned down: the suite creates hundreds of members.
        **CHEAP_PASSWORD_HASHING,
        # The limiter's memory outlives each test's app: at this suite's pace the default
        # (10 a minute) trips across tests. tests/web/test_api_auth_limits.py sets its own.
        "API_AUTH_FAILURE_LIMIT": "10000 per minute",
        **overrides,
    }


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(_smtp_server: MailServer) -> Iterator[MailServer]:
    """The tests' own SMTP server, empty and healthy at the start of each test."""
    _smtp_server.reset()
    if not _smtp_server.running:
        _smtp_server.start()
    yield _smtp_server


@pytest.fixture(autouse=True)
def _only_our_smtp_server(monkeypatch: pytest.MonkeyPatch, _smtp_server: MailServer) -> None:
    """Fail any test that tries to reach an SMTP server other than the tests' own."""
    real_connect = smtplib.SMTP.connect

    def guarded(self: smtplib.SMTP, host: str = "localhost", port: int = 0, *args, **kwargs):
        if (host, int(port)) not in {
            ("127.0.0.1", _smtp_server.port),
            ("localhost", _smtp_server.port),
        }:
            pytest.fail(f"a test tried to reach a real SMTP server at {host}:{port}")
        return real_connect(self, host, port, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver of the test's own, answering 200 until told otherwise."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(database_url: str, smtp: MailServer) -> Iterator[Flask]:
    app = create_app(app_config(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port))
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return app.extensions["portal.engine"]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(autouse=True)
def _empty_database(database_url: str) -> Iterator[None]:
    """Every test starts from empty tables (the schema stays: migrations ran once)."""
    yield
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a browser would have after loading `path`."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Post the login form as a browser would; the response, whether it worked or not."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def sign_in(client: FlaskClient, member: Member, password: str = PASSWORD) -> FlaskClient:
    """`client`, signed in as `member`: for tests about what a signed-in member sees, so a
    login that fails stops the test here rather than as a puzzling 302 or 403 later."""
    response = login(client, member.email, password)
    assert response.status_code == 302, f"{member.email} could not sign in"
    return client


# The organisation most tests share; files that need other branding or names keep their own.
@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session, "Harbour Club")


@pytest.fixture
def unit(session: Session, org: Organization) -> Unit:
    return make_unit(session, org, "North")


# Outside any unit on purpose: files whose admin belongs to a unit define their own.
@pytest.fixture
def admin(session: Session, org: Organization) -> Member:
    return make_member(
        session, org, Role.ADMIN_TENANT, email="ada@example.org", full_name="Ada Admin"
    )


# A tenant admin outside any unit; files whose inviter is a unit member keep their own.
@pytest.fixture
def inviter(session: Session, org: Organization) -> Member:
    return make_member(
        session, org, Role.ADMIN_TENANT, email="ines@example.org", full_name="Ines Inviter"
    )


# The test's own client signed in, not a second one: a test may still use `client` for it.
@pytest.fixture
def admin_client(client: FlaskClient, admin: Member) -> FlaskClient:
    return sign_in(client, admin)


@pytest.fixture
def inviter_client(client: FlaskClient, inviter: Member) -> FlaskClient:
    return sign_in(client, inviter)


@pytest.fixture
def api_scopes() -> list[str] | None:
    """The scopes of the `api` fixture's token: all of them, unless a file narrows them."""
    return None


# The API's counterpart of admin_client: the shared admin's token on every request.
@pytest.fixture
def api(client: FlaskClient, session: Session, admin: Member, api_scopes: list[str] | None) -> Api:
    return Api(client, make_token(session, admin, scopes=api_scopes))
