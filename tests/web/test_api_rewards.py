"""The rewards API: reward and benefit definitions, and a member's rewards."""

from __future__ import annotations

import pytest

from portal.clock import utcnow
from portal.models import RewardKind
from portal.rewards import service as rewards
from portal.rewards.service import RewardInput
from portal.roles import Role
from tests.factories import make_member, make_org
from tests.unit.rewards_support import join, make_rule, points
from tests.web.api_support import Api, make_token, problem


@pytest.fixture
def referrer(session, org):
    return make_member(session, org, Role.USER, email="rita@example.org", full_name="Rita Ref")


@pytest.fixture
def voucher(session, admin):
    benefit = rewards.create_benefit(
        session, admin, name="Voucher", description="10 € off", codes="V-1\nV-2", now=utcnow()
    )
    session.commit()
    return benefit


def test_reward_definitions_list_the_organisations_rules(api, session, admin, voucher):
    rule = make_rule(
        session,
        admin,
        referrer=points(100),
        referee=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=voucher.public_id),
        monthly_cap=5,
        hold_days=7,
    )
    other = make_member(session, make_org(session), Role.ADMIN_TENANT)
    make_rule(session, other)  # another organisation's: never listed
    response = api.get("/reward-definitions")
    assert response.status_code == 200
    (listed,) = response.json["data"]
    assert listed["id"] == rule.public_id and listed["trigger"] == "joined"
    assert listed["referrer"] == {"kind": "points", "points": 100, "benefitId": None, "tier": None}
    assert listed["referee"]["benefitId"] == voucher.public_id
    assert (listed["monthlyCap"], listed["yearlyCap"], listed["holdDays"]) == (5, None, 7)


def test_benefit_definitions_show_codes_left_never_the_codes(api, voucher):
    response = api.get("/benefit-definitions")
    assert response.status_code == 200
    assert response.json["data"] == [
        {
            "id": voucher.public_id,
            "name": "Voucher",
            "description": "10 € off",
            "usesCodes": True,
            "codesLeft": 2,
        }
    ]
    assert "V-1" not in response.get_data(as_text=True)


def test_a_members_rewards_with_balance_codes_and_a_cursor(api, session, admin, referrer, voucher):
    make_rule(session, admin, referrer=points(10))
    make_rule(
        session,
        admin,
        referrer=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=voucher.public_id),
    )
    join(session, referrer, "one@example.org")
    join(session, referrer, "two@example.org")
    first = api.get(f"/members/{referrer.public_id}/rewards?limit=3")
    assert first.status_code == 200, first.json
    body = first.json
    assert (body["points"], body["pointsOnHold"], body["membersBrought"]) == (20, 0, 2)
    assert len(body["data"]) == 3 and body["nextCursor"]
    rest = api.get(f"/members/{referrer.public_id}/rewards?cursor={body['nextCursor']}")
    grants = body["data"] + rest.json["data"]
    assert rest.json["nextCursor"] is None and len(grants) == 4
    assert sorted(g["code"] for g in grants if g["kind"] == "benefit") == ["V-1", "V-2"]
    assert all(g["inviteId"].startswith("iv-") and g["status"] == "issued" for g in grants)


def test_another_organisations_member_is_not_found_and_a_foreign_cursor_is_invalid(
    api, session, referrer
):
    stranger = make_member(session, make_org(session), Role.USER)
    assert api.get(f"/members/{stranger.public_id}/rewards").status_code == 404
    response = api.get(f"/members/{referrer.public_id}/rewards?cursor=aXY6MTA")  # "iv:10"
    problem(response, 422, "invalid")


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/reward-definitions", "read-reward-definitions"),
        ("/benefit-definitions", "read-benefit-definitions"),
        ("/members/mb-x/rewards", "read-rewards"),
    ],
)
def test_each_rewards_endpoint_needs_its_scope(client, session, admin, path, scope):
    api = Api(client, make_token(session, admin, scopes=["read-invites"]))
    assert scope in problem(api.get(path), 403, "insufficient_scope")["detail"]
