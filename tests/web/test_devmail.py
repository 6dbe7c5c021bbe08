"""The development mailbox: signed-in members only, and absent outside development."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.clock import utcnow
from portal.models import DevMail
from tests.conftest import app_config, login
from tests.factories import make_member, make_org


@pytest.fixture
def dev_app(database_url):
    app = create_app(app_config(database_url))  # development, no SMTP server: mail lands here
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def mail(session):
    row = DevMail(
        recipient="guest@example.org",
        subject="Ines invited you",
        text_body="Join: http://portal.test/join?invite_id=the-secret",
        html_body="",
        message_id="<1@portal.test>",
        created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return row


def test_the_mailbox_asks_anonymous_visitors_to_log_in(dev_app, mail):
    client = dev_app.test_client()
    for path in ("/dev/mailbox", f"/dev/mailbox/{mail.id}"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next=")
        assert "the-secret" not in response.get_data(as_text=True)


def test_a_signed_in_member_reads_the_mailbox_in_development(dev_app, session, mail):
    member = make_member(session, make_org(session))
    client = dev_app.test_client()
    login(client, member.email)
    assert "Ines invited you" in client.get("/dev/mailbox").get_data(as_text=True)
    assert "the-secret" in client.get(f"/dev/mailbox/{mail.id}").get_data(as_text=True)


def test_the_mailbox_does_not_exist_in_production(database_url, session, mail):
    member = make_member(session, make_org(session))
    production = create_app(app_config(database_url, PORTAL_ENV="production", TESTING=False))
    try:
        assert "devmail" not in production.blueprints
        client = production.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are Secure
        assert login(client, member.email).status_code == 302
        assert client.get("/").status_code == 200  # signed in, and still no mailbox
        for path in ("/dev/mailbox", f"/dev/mailbox/{mail.id}"):
            assert client.get(path).status_code == 404, path
    finally:
        production.extensions["portal.engine"].dispose()


def test_the_navigation_links_the_mailbox_in_development_only(dev_app, database_url, session):
    member = make_member(session, make_org(session))
    client = dev_app.test_client()
    login(client, member.email)
    assert 'href="/dev/mailbox">Mailbox (development)</a>' in client.get("/").get_data(as_text=True)
    with_smtp = create_app(app_config(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=2525))
    try:
        client = with_smtp.test_client()  # development, but mail goes to a real server
        login(client, member.email)
        assert "Mailbox (development)" not in client.get("/").get_data(as_text=True)
    finally:
        with_smtp.extensions["portal.engine"].dispose()
