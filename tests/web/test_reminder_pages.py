"""Invitation reminders (issue 12) through the test client: the setting, the row, and the
reminder e-mail as the test SMTP server receives it, whose link joins."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.errors import Invalid
from portal.invites import service as invites
from portal.invites.reminders import sweep_reminders
from portal.models import AuditEvent, Invitation, InvitationSettings, Member, OutboxItem
from portal.orgs.settings import InvitationSettingsInput, update_invitation_settings
from portal.roles import Role
from tests.conftest import csrf_token
from tests.factories import settings
from tests.mailserver import body
from tests.web.test_join import join_form
from tests.web.test_settings import VALID

URL = "/admin/settings/invitations"


def save(admin_client, **changes):
    data = {**VALID, **changes, "csrf_token": csrf_token(admin_client, URL)}
    return admin_client.post(URL, data=data)


def reminder_days(session, org):
    session.expire_all()
    return session.get(InvitationSettings, org.id).reminder_days


@pytest.mark.parametrize(("value", "stored"), [("3", 3), ("29", 29), ("", None), ("0", None)])
def test_the_reminder_setting_is_saved_and_empty_or_0_is_off(
    admin_client, session, org, value, stored
):
    response = save(admin_client, expiry_days="30", reminder_days=value)
    assert response.status_code == 302
    assert reminder_days(session, org) == stored
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Remind invitees after (days)" in page


@pytest.mark.parametrize(
    ("expiry", "value", "message"),
    [
        ("14", "14", "Choose fewer days than the invitation expiry (14 days)"),
        ("7", "30", "Choose fewer days than the invitation expiry (7 days)"),
        ("14", "-2", "Enter a whole number of days, or leave it empty for no reminders."),
        ("14", "soon", "Not a valid integer value"),
    ],
)
def test_a_reminder_at_or_after_the_expiry_is_refused(
    admin_client, session, org, expiry, value, message
):
    response = save(admin_client, expiry_days=expiry, reminder_days=value)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "Nothing was saved" in page
    assert reminder_days(session, org) is None


def test_the_service_refuses_what_the_form_refuses(session, admin):
    values = InvitationSettingsInput(
        enabled=True,
        min_inviter_role=Role.USER,
        expiry_days=10,
        daily_limit_per_member=20,
        bind_invitee_email=True,
        name="Harbour Club",
        description="",
        brand_color="#123abc",
        logo_url="",
        reminder_days=10,
    )
    with pytest.raises(Invalid, match="fewer days than the invitation expiry") as refused:
        update_invitation_settings(session, admin, values, utcnow())
    assert refused.value.field == "reminder_days"


def test_saving_the_setting_is_audit_logged(admin_client, session, org):
    save(admin_client, reminder_days="5")
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "settings.invitations.updated")
    ).one()
    assert event.before["reminder_days"] is None and event.after["reminder_days"] == 5


def test_the_reminder_email_arrives_with_a_link_that_joins(
    app, client, session, smtp, org, inviter
):
    invites.send_invitation(
        session,
        inviter,
        email="guest@example.org",
        full_name="Gina Guest",
        message="Come sailing",
        now=utcnow() - timedelta(days=4),
    )
    session.commit()
    settings(session, org, reminder_days=3)
    assert Worker(app).run_once().delivered == 1
    first_link = re.search(r"(/join\?invite_id=\S+)", body(smtp.messages[-1], "plain")).group(1)

    assert Worker(app).sweep() >= 1  # the worker's own periodic jobs, reminders among them
    assert Worker(app).run_once().delivered == 1
    message = smtp.messages[-1]
    assert message["To"] == "guest@example.org"
    assert message["Subject"] == "Reminder: Ines Inviter invited you to join Harbour Club"
    text = body(message, "plain").replace("\r\n", "\n")
    html = body(message, "html")
    invitation = session.exec(select(Invitation)).one()
    session.refresh(invitation)
    assert f"expires on {invitation.expires_at.strftime('%d %B %Y')}" in text
    assert "Come sailing" in text and "Come sailing" in html
    link = re.search(r"http://portal\.test(/join\?invite_id=\S+)", text).group(1)
    assert link != first_link and f'href="http://portal.test{link}"' in html
    assert invitation.delivery_status == "sent" and invitation.reminded_at is not None
    # Sent, so its secret is dropped from the outbox like the invitation's.
    reminder = session.exec(select(OutboxItem).where(OutboxItem.topic == "invitation_reminder"))
    assert "sealed_secret" not in reminder.one().payload

    # The old link says a newer one was sent; the reminder's joins.
    old = app.test_client().get(first_link)
    assert old.status_code == 410 and "newer invitation" in old.get_data(as_text=True)
    assert client.get(link).status_code == 302
    response = join_form(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    member = session.exec(select(Member).where(Member.email == "guest@example.org")).one()
    assert member.invited_by_id == inviter.id
    # Nothing more to remind.
    assert sweep_reminders(session, utcnow() + timedelta(days=5)) == 0


def test_the_row_says_when_the_invitee_was_reminded(inviter_client, session, org, inviter):
    sent = invites.send_invitation(session, inviter, email="guest@example.org", now=utcnow())
    session.commit()
    page = inviter_client.get("/invites").get_data(as_text=True)
    assert "Reminded on" not in page
    invitation = session.get(Invitation, sent.invitation.id)
    invitation.reminded_at = utcnow()
    session.add(invitation)
    session.commit()
    page = inviter_client.get("/invites").get_data(as_text=True)
    row = page.split(f'id="invite-{invitation.public_id}"')[1].split("</tr>")[0]
    assert f'Reminded on <time datetime="{invitation.reminded_at.isoformat()}">' in row
    assert invitation.reminded_at.strftime("%d %b %Y") in row


def test_the_api_shows_when_an_invitation_was_reminded(api, session, admin):
    sent = invites.send_invitation(session, admin, email="guest@example.org", now=utcnow())
    session.commit()
    [listed] = api.get("/invites").get_json()["data"]
    assert listed["remindedAt"] is None
    invitation = session.get(Invitation, sent.invitation.id)
    invitation.reminded_at = utcnow()
    session.add(invitation)
    session.commit()
    [listed] = api.get("/invites").get_json()["data"]
    assert listed["remindedAt"].endswith("Z")
