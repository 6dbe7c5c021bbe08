"""An event guest's join (/guest/join) goes through adhesion and the registration form as
every other join does: the organisation's questions and, under adhesion, the reason on the
guest's page; an application sponsored by the host; the host's level waiving approval; a
refused answer next to its question with nothing written."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from portal.clock import utcnow
from portal.events import service as events
from portal.models import (
    EventGuest,
    Invitation,
    Member,
    MembershipApplication,
    MembershipSettings,
    RegistrationQuestion,
)
from portal.roles import MemberStatus, Role
from tests.conftest import csrf_token
from tests.factories import make_member
from tests.web.form_support import field_error

LATER = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
GUEST = "gina@example.org"


def membership(session, org, **values) -> None:
    row = session.get(MembershipSettings, org.id) or MembershipSettings(organization_id=org.id)
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.commit()


def question(session, org, label, required=True) -> RegistrationQuestion:
    row = RegistrationQuestion(
        organization_id=org.id, label=label, required=required, created_at=utcnow()
    )
    session.add(row)
    session.commit()
    return row


def accepted_guest(client, session, admin, host) -> None:
    """`host` invites a guest to the admin's event; the guest accepts in `client`."""
    event = events.create_event(
        session,
        admin,
        events.EventInput(
            title="Summer party",
            starts_local=f"{LATER}T18:00",
            ends_local=f"{LATER}T22:00",
            timezone="Europe/Berlin",
            place="Town hall",
            capacity=5,
            guests_per_member=3,
        ),
        utcnow(),
    )
    _guest, token = events.invite_guest(
        session, host, event, email=GUEST, full_name="Gina", message="", now=utcnow()
    )
    session.commit()
    client.get(f"/guest?token={token}")
    answered = client.post(
        "/guest/accept",
        data={"full_name": "Gina", "email": GUEST, "csrf_token": csrf_token(client, "/guest")},
    )
    assert answered.status_code == 302


def guest_join(client, **fields):
    data = {
        "join-full_name": "Gina Guest",
        "join-password": "a long enough password",
        "csrf_token": csrf_token(client, "/guest"),
    }
    data.update({f"join-{name}": value for name, value in fields.items()})
    return client.post("/guest/join", data=data)


def the_guest(session) -> Member | None:
    session.expire_all()
    return session.exec(select(Member).where(Member.email == GUEST)).first()


def test_under_adhesion_the_guest_applies_with_the_host_as_sponsor(client, session, org, admin):
    membership(session, org, approval_required=True, reason_mode="required")
    boat = question(session, org, "Your boat")
    host = make_member(session, org, Role.USER, full_name="Max Member")
    accepted_guest(client, session, admin, host)
    page = client.get("/guest").get_data(as_text=True)
    assert "Your boat" in page and "Why do you want to join?" in page
    assert f'name="join-q_{boat.public_id}"' in page and 'name="join-reason"' in page
    response = guest_join(client, **{f"q_{boat.public_id}": "Swift", "reason": "I sail."})
    assert response.status_code == 302 and response.headers["Location"] == "/application"
    assert "Your application is being reviewed" in client.get("/application").get_data(as_text=True)
    member = the_guest(session)
    assert member is not None and member.status == MemberStatus.PENDING_APPROVAL
    application = session.exec(select(MembershipApplication)).one()
    invitation = session.exec(select(Invitation).where(Invitation.source == "event")).one()
    assert (application.status, application.sponsor_id, application.invitation_id) == (
        "pending",
        host.id,
        invitation.id,
    )
    assert application.reason == "I sail."
    assert [a["value"] for a in application.answers] == ["Swift"]


def test_an_unanswered_required_question_is_refused_beside_it_and_nothing_is_written(
    client, session, org, admin
):
    membership(session, org, approval_required=True, reason_mode="required")
    boat = question(session, org, "Your boat")
    host = make_member(session, org, Role.USER)
    accepted_guest(client, session, admin, host)
    guest_before = session.exec(select(EventGuest)).one().model_dump()
    refused = guest_join(client, **{f"q_{boat.public_id}": "", "reason": "I sail."})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), f"join-q_{boat.public_id}") == (
        "Answer “Your boat”."
    )
    no_reason = guest_join(client, **{f"q_{boat.public_id}": "Swift"})
    assert no_reason.status_code == 422
    reason_error = field_error(no_reason.get_data(as_text=True), "join-reason")
    assert reason_error is not None and "Answer “Why do you want to join?”" in reason_error
    assert the_guest(session) is None
    assert session.exec(select(Invitation).where(Invitation.source == "event")).all() == []
    assert session.exec(select(MembershipApplication)).all() == []
    assert session.exec(select(EventGuest)).one().model_dump() == guest_before


def test_without_adhesion_the_guest_joins_active_and_the_answers_are_kept(
    client, session, org, admin
):
    boat = question(session, org, "Your boat")
    host = make_member(session, org, Role.USER, full_name="Max Member")
    accepted_guest(client, session, admin, host)
    page = client.get("/guest").get_data(as_text=True)
    assert "Your boat" in page and "Why do you want to join?" not in page
    response = guest_join(client, **{f"q_{boat.public_id}": "Swift"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    member = the_guest(session)
    assert member is not None and member.status == MemberStatus.ACTIVE
    application = session.exec(select(MembershipApplication)).one()
    assert (application.status, application.sponsor_id) == ("not_required", host.id)
    assert [a["value"] for a in application.answers] == ["Swift"]
    assert "You joined at Max Member&#39;s invitation" in client.get("/").get_data(as_text=True)


def test_a_host_at_the_waiver_level_waives_approval_for_their_guest(client, session, org, admin):
    membership(session, org, approval_required=True, waiver_min_role=Role.HR_LOCAL.value)
    trusted = make_member(session, org, Role.HR_TENANT)
    accepted_guest(client, session, admin, trusted)
    assert "Why do you want to join?" not in client.get("/guest").get_data(as_text=True)
    response = guest_join(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    member = the_guest(session)
    assert member is not None and member.status == MemberStatus.ACTIVE
    assert session.exec(select(MembershipApplication)).all() == []


def test_a_host_below_the_waiver_level_leaves_their_guest_pending(client, session, org, admin):
    membership(session, org, approval_required=True, waiver_min_role=Role.HR_LOCAL.value)
    host = make_member(session, org, Role.USER)
    accepted_guest(client, session, admin, host)
    assert guest_join(client).headers["Location"] == "/application"
    member = the_guest(session)
    assert member is not None and member.status == MemberStatus.PENDING_APPROVAL
    application = session.exec(select(MembershipApplication)).one()
    assert (application.status, application.sponsor_id) == ("pending", host.id)
