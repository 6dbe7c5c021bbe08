"""The applications API: GET /api/v1/applications and POST …/{id}/decision, with their own
scopes and the same rules as the Applications page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.models import Member, MembershipApplication
from portal.roles import MemberStatus, Role
from tests.factories import make_member, make_unit
from tests.web.api_support import Api, make_token


@pytest.fixture
def pending(session, org, admin):
    unit = make_unit(session, org, "North")
    sponsor = make_member(session, org, unit=unit, full_name="Sam Sponsor")
    applicant = make_member(
        session,
        org,
        unit=unit,
        full_name="Gina Guest",
        status=MemberStatus.PENDING_APPROVAL,
        invited_by_id=sponsor.id,
    )
    application = MembershipApplication(
        organization_id=org.id,
        unit_id=unit.id,
        member_id=applicant.id,
        sponsor_id=sponsor.id,
        reason="I sail",
        answers=[{"question_id": "rq-x", "label": "Boat", "kind": "text", "value": "Swift"}],
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(application)
    session.commit()
    return application


def test_list_and_decide_with_the_scopes(client, session, admin, pending):
    api = Api(client, make_token(session, admin, scopes=["read-applications"]))
    listed = api.get("/applications")
    assert listed.status_code == 200, listed.get_json()
    [item] = listed.get_json()["data"]
    assert item["id"] == pending.public_id and item["fullName"] == "Gina Guest"
    assert item["answers"][0]["value"] == "Swift" and item["sponsorRecord"]["invitations"] == 0
    path = f"/applications/{pending.public_id}/decision"
    assert api.post(path, json={"decision": "approve"}).status_code == 403  # reading only
    decider = Api(client, make_token(session, admin, scopes=["decide-applications"]))
    decided = decider.post(path, json={"decision": "approve", "note": "Hi"})
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "approved"
    assert decided.get_json()["decidedById"] == admin.public_id
    session.expire_all()
    member = session.exec(select(Member).where(Member.full_name == "Gina Guest")).one()
    assert member.status == MemberStatus.ACTIVE
    again = decider.post(path, json={"decision": "reject"})
    assert again.status_code == 409 and again.get_json()["code"] == "already_decided"


def test_a_plain_members_token_may_not_list_applications(client, session, org, pending):
    member = make_member(session, org, Role.USER)
    api = Api(client, make_token(session, member, scopes=["read-applications"]))
    assert api.get("/applications").status_code == 403


def test_a_bad_decision_is_422(client, session, admin, pending):
    api = Api(client, make_token(session, admin, scopes=["decide-applications"]))
    response = api.post(f"/applications/{pending.public_id}/decision", json={"decision": "maybe"})
    assert response.status_code == 422


def test_a_headless_join_under_adhesion_makes_a_pending_application(client, session, org, admin):
    from portal.invites import service as invites
    from portal.models import MembershipSettings, RegistrationQuestion

    session.add(MembershipSettings(organization_id=org.id, approval_required=True))
    session.add(
        RegistrationQuestion(
            public_id="rq-boat", organization_id=org.id, label="Boat", required=True,
            created_at=utcnow(),
        )
    )  # fmt: skip
    sent = invites.send_invitation(session, admin, email="new@example.org", now=utcnow())
    session.commit()
    api = Api(client, make_token(session, admin, scopes=["create-profiles"]))
    body = {"inviteId": sent.secret, "email": "new@example.org", "fullName": "Nia New"}
    missing = api.post("/members", json=body)
    assert missing.status_code == 422, missing.get_json()
    joined = api.post("/members", json={**body, "answers": {"rq-boat": "Swift"}, "reason": "Fun"})
    assert joined.status_code == 201, joined.get_json()
    assert joined.get_json()["status"] == "pending_approval"
    application = session.exec(select(MembershipApplication)).one()
    assert (application.reason, application.answers[0]["value"]) == ("Fun", "Swift")
