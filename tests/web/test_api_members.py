"""Headless join (POST /members) and reading members (GET /members/{id})."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import Invitation, Member, OutboxItem
from portal.roles import Role
from portal.webhooks.service import UrlRules, create_endpoint
from tests.factories import make_member, make_org, settings
from tests.web.api_support import Api, field_errors, make_token, problem

GUEST = "guest@example.org"


@pytest.fixture
def admin(session, org, unit):
    return make_member(session, org, Role.ADMIN_TENANT, unit=unit, email="ada@example.org")


@pytest.fixture
def inviter(session, org, unit):
    return make_member(
        session, org, Role.USER, unit=unit, email="ines@example.org", full_name="Ines Inviter"
    )


def invite(session, inviter, email=GUEST, now=None) -> str:
    """Send an invitation; the secret of its link."""
    sent = invites.send_invitation(session, inviter, email=email, now=now or utcnow())
    session.commit()
    return sent.secret


def join(api, secret, email=GUEST, full_name="Grace Guest", **extra):
    return api.post(
        "/members", {"inviteId": secret, "email": email, "fullName": full_name, **extra}
    )


def test_headless_join_links_the_member_to_the_inviter_and_fires_invite_linked(
    api, session, admin, inviter, unit
):
    endpoint, _secret = create_endpoint(
        session,
        admin,
        url="http://127.0.0.1:9/hook",
        event_types=["INVITE_LINKED"],
        description="CRM",
        rules=UrlRules(require_https=False, allow_private=True),
        now=utcnow(),
    )
    session.commit()
    secret = invite(session, inviter)

    response = join(api, secret, password="a long enough password")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    member = session.exec(select(Member).where(Member.email == GUEST)).one()
    invitation = session.exec(select(Invitation)).one()
    assert response.headers["Location"] == f"/api/v1/members/{member.public_id}"
    assert body == {
        "id": member.public_id,
        "email": GUEST,
        "fullName": "Grace Guest",
        "status": "active",
        "createdAt": member.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "invitedBy": {"id": inviter.public_id, "fullName": "Ines Inviter"},
        "inviteId": invitation.public_id,
    }
    assert (member.invited_by_id, member.invitation_id, member.unit_id) == (
        inviter.id,
        invitation.id,
        unit.id,
    )
    assert member.password_hash is not None
    assert (invitation.status, invitation.member_id) == ("ACCEPTED", member.id)

    hook = session.exec(
        select(OutboxItem).where(OutboxItem.kind == "webhook", OutboxItem.topic == "INVITE_LINKED")
    ).one()
    assert hook.endpoint_id == endpoint.id
    data = hook.payload["event"]["data"]
    assert (data["inviteId"], data["userId"], data["inviterId"]) == (
        invitation.public_id,
        member.public_id,
        inviter.public_id,
    )
    # The invitation reads as linked, with the member it created.
    linked = api.get(f"/invites/{invitation.public_id}").get_json()
    assert (linked["status"], linked["userId"]) == ("LINKED", member.public_id)
    assert linked["linkedAt"] is not None


def test_a_member_authenticated_elsewhere_joins_without_a_password(api, session, inviter):
    assert join(api, invite(session, inviter)).status_code == 201
    member = session.exec(select(Member).where(Member.email == GUEST)).one()
    assert member.password_hash is None


def test_the_join_pages_rules_and_words_apply(api, session, inviter):
    secret = invite(session, inviter)
    body = problem(join(api, secret, password="short"), 422, "invalid")
    assert field_errors(body) == {"password": "Choose a password of at least 8 characters."}
    body = problem(join(api, secret, email="someone.else@example.org"), 422, "invalid")
    assert field_errors(body) == {
        "email": f"Please join with the address this invitation was sent to ({GUEST})."
    }
    body = problem(join(api, secret, full_name="  "), 422, "invalid")
    assert list(field_errors(body)) == ["fullName"]
    assert session.exec(select(Member).where(Member.email == GUEST)).first() is None


def test_another_address_is_fine_when_the_organisation_allows_it(api, session, org, inviter):
    settings(session, org, bind_invitee_email=False)
    assert join(api, invite(session, inviter), email="grace@elsewhere.org").status_code == 201


def test_an_unknown_link_is_404_invalid_invite(api):
    body = problem(join(api, "made-up-secret"), 404, "invalid_invite")
    assert "isn't valid" in body["detail"]


def test_another_organisations_link_reads_as_unknown(api, session):
    stranger = make_member(session, make_org(session), Role.USER)
    secret = invite(session, stranger)
    problem(join(api, secret), 404, "invalid_invite")
    invites.resend(session, stranger, session.exec(select(Invitation)).one(), utcnow())
    session.commit()
    problem(join(api, secret), 404, "invalid_invite")  # a retired link too
    assert session.exec(select(Invitation)).one().status == "PENDING"


def test_expired_revoked_used_and_replaced_links_are_410(api, session, inviter):
    expired = invite(session, inviter, email="e@example.org", now=utcnow() - timedelta(days=30))
    problem(join(api, expired, email="e@example.org"), 410, "invite_expired")

    revoked = invite(session, inviter, email="r@example.org")
    invitation = session.exec(select(Invitation).where(Invitation.email == "r@example.org")).one()
    invites.revoke(session, inviter, invitation, utcnow())
    session.commit()
    problem(join(api, revoked, email="r@example.org"), 410, "invite_revoked")

    used = invite(session, inviter)
    assert join(api, used).status_code == 201
    problem(join(api, used), 410, "invite_used")

    old = invite(session, inviter, email="o@example.org")
    invitation = session.exec(select(Invitation).where(Invitation.email == "o@example.org")).one()
    invites.resend(session, inviter, invitation, utcnow())
    session.commit()
    problem(join(api, old, email="o@example.org"), 410, "invite_superseded")


def test_an_address_with_an_account_is_409(api, session, org, inviter):
    settings(session, org, bind_invitee_email=False)
    make_member(session, org, email="taken@example.org")
    body = problem(
        join(api, invite(session, inviter), email="taken@example.org"), 409, "account_exists"
    )
    assert list(field_errors(body)) == ["email"]


def test_an_account_in_another_organisation_gets_the_same_answer_as_one_here(
    api, session, org, inviter
):
    """The organisation's front end must not learn that an address is registered elsewhere."""
    settings(session, org, bind_invitee_email=False)
    make_member(session, org, email="here@example.org")
    make_member(session, make_org(session), email="elsewhere@example.org")
    answers = []
    for address in ("here@example.org", "elsewhere@example.org"):
        body = problem(
            join(api, invite(session, inviter, email=f"x-{address}"), email=address),
            409,
            "account_exists",
        )
        answers.append(json.dumps(body, sort_keys=True).replace(address, "<address>"))
    assert answers[0] == answers[1]


def test_the_join_body_is_checked(api):
    body = problem(api.post("/members", {"email": GUEST, "password": 12345678}), 422, "invalid")
    assert field_errors(body) == {
        "password": "Must be a string.",
        "inviteId": "This field is required.",
        "fullName": "This field is required.",
    }


def test_reading_a_member_says_who_invited_them(api, session, inviter, admin):
    assert join(api, invite(session, inviter)).status_code == 201
    member = session.exec(select(Member).where(Member.email == GUEST)).one()
    body = api.get(f"/members/{member.public_id}").get_json()
    assert body["invitedBy"] == {"id": inviter.public_id, "fullName": "Ines Inviter"}
    own = api.get(f"/members/{admin.public_id}").get_json()
    assert (own["invitedBy"], own["inviteId"]) == (None, None)


def test_another_organisations_member_is_404(api, session):
    stranger = make_member(session, make_org(session), Role.USER)
    problem(api.get(f"/members/{stranger.public_id}"), 404, "not_found")
    problem(api.get("/members/mb-unknown"), 404, "not_found")


def test_a_token_with_only_profile_scopes_can_join_but_not_invite(client, session, admin, inviter):
    api = Api(client, make_token(session, admin, scopes=["create-profiles", "read-profiles"]))
    assert join(api, invite(session, inviter)).status_code == 201
    problem(api.post("/invites", {"email": "x@example.org"}), 403, "insufficient_scope")
