"""An address is either deliverable or refused where it is entered: the invite form and API,
the join page and API, against the tests' real SMTP server with and without SMTPUTF8."""

from __future__ import annotations

import smtplib

import pytest
from markupsafe import escape
from sqlmodel import select

from portal import create_app
from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import DevMail, Invitation, Member, OutboxItem
from tests.conftest import app_config, csrf_token, login, sign_in
from tests.factories import make_member, settings
from tests.web.api_support import Api, field_errors, make_token, problem

ZOE = "zoë@example.org"
REASON = (
    "our mail server can't deliver to addresses with accents or other non-ASCII letters "
    "before the @."
)


@pytest.fixture
def make_app(database_url, smtp):
    """Another app on the same database, with its own mail settings."""
    made = []

    def make(**overrides):
        config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, **overrides}
        made.append(create_app(app_config(database_url, **config)))
        return made[-1]

    yield make
    for app in made:
        app.extensions["portal.engine"].dispose()


@pytest.fixture
def connections(monkeypatch):
    """Every SMTP connection opened, the tests' guard still in place."""
    opened = []
    guarded = smtplib.SMTP.connect

    def counting(self, *args, **kwargs):
        opened.append(args)
        return guarded(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counting)
    return opened


def send_form(client, email, **extra):
    data = {"email": email, "csrf_token": csrf_token(client, "/invites"), **extra}
    return client.post("/invites", data=data)


def nothing_stored(session):
    session.expire_all()
    assert session.exec(select(Invitation)).all() == []
    assert session.exec(select(OutboxItem)).all() == []


# --- the invite form and API ------------------------------------------------------------------


def test_the_form_refuses_an_address_the_mail_server_cant_take_and_says_why(
    inviter_client, session, smtp, inviter
):
    smtp.smtputf8 = False
    response = send_form(inviter_client, ZOE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert escape(f"{ZOE} can't be invited: {REASON}") in page
    nothing_stored(session)


def test_the_form_takes_it_when_the_mail_server_offers_smtputf8(
    app, inviter_client, session, smtp, inviter
):
    smtp.smtputf8 = True
    response = send_form(inviter_client, ZOE)
    assert response.status_code == 302
    assert session.exec(select(Invitation)).one().email == ZOE
    assert Worker(app).run_once().delivered == 1
    assert smtp.envelopes[0].rcpt_tos == [ZOE]


def test_the_api_refuses_an_address_the_mail_server_cant_take(client, session, smtp, inviter):
    smtp.smtputf8 = False
    api = Api(client, make_token(session, inviter))
    body = problem(api.post("/invites", {"email": ZOE}), 422, "invalid_email")
    assert field_errors(body)["email"] == f"{ZOE} can't be invited: {REASON}"
    nothing_stored(session)


def test_a_non_ascii_domain_is_taken_by_a_server_without_smtputf8(
    inviter_client, session, smtp, inviter
):
    smtp.smtputf8 = False
    assert send_form(inviter_client, "guest@bücher.de").status_code == 302
    assert session.exec(select(Invitation)).one().email == "guest@bücher.de"


# --- how the portal knows what the server takes -----------------------------------------------


def test_the_server_is_asked_once_and_only_for_a_non_ascii_local_part(
    app, inviter_client, session, smtp, inviter, connections
):
    smtp.smtputf8 = True
    assert send_form(inviter_client, "plain@example.org").status_code == 302
    assert connections == []  # an ASCII address never needs the question
    assert send_form(inviter_client, ZOE).status_code == 302
    assert send_form(inviter_client, "chloé@example.org").status_code == 302
    assert len(connections) == 1


def test_mail_smtputf8_no_refuses_even_when_the_server_offers_it(
    make_app, session, smtp, inviter, connections
):
    smtp.smtputf8 = True
    app = make_app(MAIL_SMTPUTF8="no")
    response = send_form(sign_in(app.test_client(), inviter), ZOE)
    assert response.status_code == 422
    assert escape(REASON) in response.get_data(as_text=True)
    assert connections == []
    nothing_stored(session)


def test_mail_smtputf8_yes_takes_the_address_without_asking(
    make_app, session, smtp, inviter, connections
):
    smtp.smtputf8 = False
    app = make_app(MAIL_SMTPUTF8="yes")
    assert send_form(sign_in(app.test_client(), inviter), ZOE).status_code == 302
    assert connections == []
    # Told wrongly, the server can't take it after all: that e-mail fails, with the reason.
    assert Worker(app).run_once().failed == 1
    assert (
        session.exec(select(Invitation))
        .one()
        .delivery_error.startswith("Our mail server can't deliver")
    )


def test_while_the_server_cant_be_asked_the_address_is_taken_and_asked_about_later(
    app, inviter_client, session, smtp, inviter, connections
):
    smtp.stop()
    assert send_form(inviter_client, ZOE).status_code == 302
    smtp.start()
    smtp.smtputf8 = False
    response = send_form(inviter_client, "chloé@example.org")
    assert response.status_code == 422
    assert len(connections) == 2  # the failed question wasn't remembered


def test_the_development_mailbox_takes_every_address(make_app, session, inviter):
    app = make_app(MAIL_SERVER=None)
    assert send_form(sign_in(app.test_client(), inviter), ZOE).status_code == 302
    assert Worker(app).run_once().delivered == 1
    assert session.exec(select(DevMail)).one().recipient == ZOE


def test_mail_smtputf8_is_read_from_the_environment_and_checked(
    database_url, monkeypatch, make_app
):
    monkeypatch.setenv("MAIL_SMTPUTF8", "No")
    assert make_app().config["MAIL_SMTPUTF8"] == "no"
    monkeypatch.setenv("MAIL_SMTPUTF8", "sometimes")
    with pytest.raises(ValueError, match="MAIL_SMTPUTF8 must be auto, yes or no"):
        make_app()


# --- joining ----------------------------------------------------------------------------------


def open_link(client, secret):
    client.get(f"/join?invite_id={secret}")


def join_form(client, email):
    data = {
        "full_name": "Zoë Zed",
        "email": email,
        "password": "long password",
        "csrf_token": csrf_token(client, "/join"),
    }
    return client.post("/join", data=data)


def test_joining_refuses_another_address_the_mail_server_cant_take(
    client, session, smtp, org, inviter
):
    smtp.smtputf8 = False
    settings(session, org, bind_invitee_email=False)
    sent = invites.send_invitation(session, inviter, email="zoe@example.org", now=utcnow())
    session.commit()
    open_link(client, sent.secret)
    response = join_form(client, ZOE)
    assert response.status_code == 422
    assert escape(f"{ZOE} can't be used: {REASON}") in response.get_data(as_text=True)
    assert session.exec(select(Member).where(Member.email == ZOE)).first() is None


def test_the_api_join_refuses_another_address_the_mail_server_cant_take(
    client, session, smtp, org, inviter
):
    smtp.smtputf8 = False
    settings(session, org, bind_invitee_email=False)
    sent = invites.send_invitation(session, inviter, email="zoe@example.org", now=utcnow())
    session.commit()
    api = Api(client, make_token(session, inviter))
    response = api.post("/members", {"inviteId": sent.secret, "email": ZOE, "fullName": "Zoë"})
    body = problem(response, 422, "invalid_email")
    assert field_errors(body)["email"] == f"{ZOE} can't be used: {REASON}"
    assert session.exec(select(Member).where(Member.email == ZOE)).first() is None


def test_an_account_stored_with_such_an_address_can_still_sign_in(client, session, smtp, org):
    """Lookups aren't deliverability checks: an address stored before them still matches."""
    smtp.smtputf8 = False
    make_member(session, org, email=ZOE, reach=None)
    response = login(client, ZOE)
    assert response.status_code == 302 and response.headers["Location"] == "/"
