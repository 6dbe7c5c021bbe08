"""The invitee's side through the test client: the link, the landing page, joining."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import Invitation, Member
from portal.roles import Role
from tests.conftest import csrf_token, login, sign_in
from tests.factories import make_member, make_org, make_unit, settings
from tests.mailserver import body


@pytest.fixture
def org(session):
    return make_org(
        session,
        "Harbour Club",
        description="Sailing & friends.",
        brand_color="#aa3300",
        logo_url="https://example.org/logo.png",
    )


@pytest.fixture
def inviter(session, org):
    return make_member(
        session,
        org,
        Role.USER,
        unit=make_unit(session, org),
        email="ines@example.org",
        full_name="Ines Inviter",
    )


@pytest.fixture
def link(app, session, smtp, inviter):
    """Send an invitation and return the join link from the e-mail, as the invitee gets it."""
    invites.send_invitation(
        session,
        inviter,
        email="guest@example.org",
        full_name="Gina Guest",
        message="Line one <script>alert(1)</script>\nLine two",
        now=utcnow(),
    )
    session.commit()
    assert Worker(app).run_once().delivered == 1
    text = body(smtp.messages[-1], "plain")
    return re.search(r"http://portal\.test(/join\?invite_id=\S+)", text).group(1)


def join_form(client, **changes):
    data = {
        "full_name": "Gina Guest",
        "email": "guest@example.org",
        "password": "long password",
        "csrf_token": csrf_token(client, "/join"),
    }
    data.update(changes)
    return client.post("/join", data=data)


def test_the_invitation_email_carries_everything_and_escapes_the_message(link, smtp):
    message = smtp.messages[-1]
    assert message["Subject"] == "Ines Inviter invited you to join Harbour Club"
    assert message["To"] == "guest@example.org"
    assert message.get_content_type() == "multipart/alternative"
    text = body(message, "plain").replace("\r\n", "\n")
    html = body(message, "html").replace("\r\n", "\n")
    assert "Line one <script>alert(1)</script>\nLine two" in text
    assert "Line one &lt;script&gt;alert(1)&lt;/script&gt;<br>\nLine two" in html
    assert "<script>" not in html
    expiry = (utcnow() + timedelta(days=14)).strftime("%d %B %Y")
    assert f"expires on {expiry}" in text and f"expires on {expiry}" in html
    assert "Sailing &amp; friends." in html and 'src="https://example.org/logo.png"' in html
    # The brand colour, inlined (the CSS inliner shortens #aa3300 to #a30).
    assert re.search(r"background:\s*#(aa3300|a30)\b", html)
    assert f'href="http://portal.test{link}"' in html
    assert 'style="' in html and "<style" not in html  # CSS inlined for mail clients


def test_opening_the_link_keeps_the_secret_out_of_the_address_bar(client, link, session):
    response = client.get(link)
    assert response.status_code == 302 and response.headers["Location"] == "/join"
    page = client.get("/join").get_data(as_text=True)
    assert "invite_id" not in page
    assert "Ines Inviter</strong> invited you to join Harbour Club" in page
    assert "Line one &lt;script&gt;" in page
    assert (
        'value="guest@example.org" readonly' in page
        or "readonly" in page.split('id="email"')[1].split(">")[0]
    )
    assert session.exec(select(Invitation)).one().first_visited_at is not None


def test_joining_signs_in_links_to_the_inviter_and_tells_them(
    app, client, link, session, smtp, inviter
):
    client.get(link)
    response = join_form(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Welcome to Harbour Club, Gina Guest!" in home
    member = session.exec(select(Member).where(Member.email == "guest@example.org")).one()
    assert member.invited_by_id == inviter.id and member.unit_id == inviter.unit_id
    Worker(app).run_once()
    accepted = smtp.to("ines@example.org")
    assert accepted and accepted[0]["Subject"] == "Gina Guest accepted your invitation"


def test_a_bound_address_cannot_be_swapped_at_join(client, link, session):
    client.get(link)
    join_form(client, email="someone.else@example.org")
    assert (
        session.exec(select(Member).where(Member.email == "someone.else@example.org")).first()
        is None
    )
    assert session.exec(select(Member).where(Member.email == "guest@example.org")).first()


def test_an_unbound_address_with_an_account_is_told_to_log_in(client, link, session, org):
    settings(session, org, bind_invitee_email=False)
    make_member(session, org, email="taken@example.org")
    client.get(link)
    response = join_form(client, email="taken@example.org")
    assert response.status_code == 409
    assert "taken@example.org already has an account. Log in instead." in response.get_data(
        as_text=True
    )


def test_a_short_password_is_refused_and_the_link_still_works(client, link, session):
    client.get(link)
    response = join_form(client, password="short")
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)
    assert session.exec(select(Invitation)).one().status == "PENDING"
    assert join_form(client).status_code == 302


def test_an_unknown_link_is_a_404_that_reveals_nothing(client):
    response = client.get("/join?invite_id=not-a-real-secret")
    assert response.status_code == 404
    assert "isn&#39;t valid" in response.get_data(as_text=True)


def test_a_used_link_is_410_with_a_log_in_link(app, client, link):
    client.get(link)
    join_form(client)
    other = app.test_client()
    response = other.get(link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "already been used" in page and 'href="/login"' in page


def test_a_signed_in_member_opening_a_link_is_told_they_are_a_member(client, link, inviter):
    login(client, inviter.email)
    page = client.get(link).get_data(as_text=True)
    assert "You are already a member of Harbour Club" in page


def test_an_expired_link_offers_to_request_a_new_invitation(app, client, link, session, smtp):
    invitation = session.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    response = client.get(link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert f"This invitation expired on {invitation.expires_at.strftime('%d %B %Y')}" in page
    assert "Ask Ines Inviter to send a new one." in page
    assert "Request a new invitation" in page
    confirmation = client.post(
        "/join/request-new", data={"csrf_token": csrf_token(client, "/login")}
    )
    assert "We've let Ines Inviter know" in confirmation.get_data(as_text=True)
    Worker(app).run_once()
    assert smtp.to("ines@example.org")[0]["Subject"] == (
        "guest@example.org would like a new invitation to Harbour Club"
    )


def test_the_inviters_row_says_when_a_new_link_was_asked_for(app, client, link, session, inviter):
    invitation = session.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    dashboard = sign_in(app.test_client(), inviter)
    first = dashboard.get("/invites?list=expired").get_data(as_text=True)
    assert f'id="invite-{invitation.public_id}"' in first and "Asked for a new link" not in first
    client.get(link)
    client.post("/join/request-new", data={"csrf_token": csrf_token(client, "/login")})
    session.refresh(invitation)
    page = dashboard.get("/invites?list=expired").get_data(as_text=True)
    row = page.split(f'id="invite-{invitation.public_id}"')[1].split("</tr>")[0]
    asked = invitation.renewal_requested_at
    assert f'Asked for a new link on <time datetime="{asked.isoformat()}">' in row
    assert asked.strftime("%d %b %Y") in row


BRANDING = (
    "<style>:root { --brand: #aa3300; }</style>",
    '<img src="https://example.org/logo.png" alt="" class="brand-logo">',
    "<span>Harbour Club</span>",
)


def _end_the_link(kind, app, session, inviter, link):
    invitation = session.exec(select(Invitation)).one()
    if kind == "expired":
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        session.add(invitation)
    elif kind == "revoked":
        invites.revoke(session, inviter, invitation, utcnow())
    elif kind == "replaced":
        invites.resend(session, inviter, invitation, utcnow())
    session.commit()
    if kind == "used":
        joiner = app.test_client()
        joiner.get(link)
        assert join_form(joiner).status_code == 302


@pytest.mark.parametrize("kind", ["expired", "used", "revoked", "replaced"])
def test_every_dead_end_keeps_the_organisations_branding(app, client, link, session, inviter, kind):
    _end_the_link(kind, app, session, inviter, link)
    response = client.get(link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert all(part in page for part in BRANDING), kind


def test_a_link_that_ends_after_its_first_visit_keeps_the_branding(client, link, session, inviter):
    assert client.get(link).status_code == 302  # the digest is now in the session
    invites.revoke(session, inviter, session.exec(select(Invitation)).one(), utcnow())
    session.commit()
    response = client.get("/join")
    assert response.status_code == 410
    assert all(part in response.get_data(as_text=True) for part in BRANDING)


def test_asking_for_a_new_link_is_confirmed_under_the_branding(client, link, session):
    invitation = session.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    client.get(link)
    page = client.post(
        "/join/request-new", data={"csrf_token": csrf_token(client, "/login")}
    ).get_data(as_text=True)
    assert "We've let Ines Inviter know" in page and all(part in page for part in BRANDING)


def test_an_unknown_link_shows_no_organisation(client, org):
    page = client.get("/join?invite_id=not-a-real-secret").get_data(as_text=True)
    assert "Harbour Club" not in page and "--brand" not in page


def test_a_revoked_link_is_410(client, link, session, inviter):
    invitation = session.exec(select(Invitation)).one()
    invites.revoke(session, inviter, invitation, utcnow())
    session.commit()
    response = client.get(link)
    assert response.status_code == 410 and "withdrawn" in response.get_data(as_text=True)


def test_after_a_resend_the_old_link_says_a_newer_one_was_sent(client, link, session, inviter):
    invitation = session.exec(select(Invitation)).one()
    invites.resend(session, inviter, invitation, utcnow())
    session.commit()
    response = client.get(link)
    assert response.status_code == 410
    assert "A newer invitation was sent" in response.get_data(as_text=True)


def test_join_attempts_are_rate_limited_per_ip(app, client, link):
    app.config["JOIN_LIMIT_PER_IP"] = "3 per 10 minutes"
    client.get(link)
    for _ in range(3):
        join_form(client, password="short")
    response = join_form(client)
    assert response.status_code == 429
    assert "Try again in 10 minutes" in response.get_data(as_text=True)


def test_the_development_mailbox_shows_mail_when_no_smtp_server_is_set(
    database_url, session, inviter
):
    from portal import create_app
    from tests.conftest import app_config

    dev = create_app(app_config(database_url))
    invites.send_invitation(session, inviter, email="guest@example.org", now=utcnow())
    session.commit()
    assert Worker(dev).run_once().delivered == 1
    client = dev.test_client()
    login(client, inviter.email)  # the mailbox is for signed-in members only
    index = client.get("/dev/mailbox").get_data(as_text=True)
    assert "Ines Inviter invited you to join Harbour Club" in index
    mail_id = re.search(r"/dev/mailbox/(\d+)", index).group(1)
    assert "/join?invite_id=" in client.get(f"/dev/mailbox/{mail_id}").get_data(as_text=True)
    production = create_app(app_config(database_url, PORTAL_ENV="production", TESTING=False))
    assert production.test_client().get("/dev/mailbox").status_code == 404
    dev.extensions["portal.engine"].dispose()
    production.extensions["portal.engine"].dispose()
