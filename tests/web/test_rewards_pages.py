"""Referral rewards through the browser's eyes (the Flask test client): the settings
screen, My rewards, Review, the device cookie, and the reward e-mail through the tests'
own SMTP server."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.models import AuditEvent, GrantStatus, RewardGrant, RewardKind, RewardRule
from portal.rewards import service as rewards
from portal.rewards.service import RewardInput
from portal.roles import Role
from portal.web.devices import COOKIE
from tests.conftest import csrf_token, sign_in
from tests.factories import make_member, make_unit
from tests.query_count import count_queries
from tests.unit.rewards_support import grants, join, make_rule, points
from tests.web.form_support import field_error, form_on_page

SETTINGS = "/admin/settings/rewards"


@pytest.fixture
def referrer(session, org):
    return make_member(session, org, Role.USER, email="rita@example.org", full_name="Rita Ref")


def rule_form(client, **values):
    data = form_on_page(client, SETTINGS, "referrer_kind")
    data.update({name: [str(value)] for name, value in values.items()})
    return data


# --- Settings → Referral rewards --------------------------------------------------------------


def test_an_admin_creates_a_rule_and_it_is_listed_and_audited(admin_client, session):
    response = admin_client.post(
        f"{SETTINGS}/rules",
        data=rule_form(
            admin_client,
            name="Bring a friend",
            referrer_kind="points",
            referrer_points=100,
            referee_kind="tier",
            referee_tier="Silver",
            monthly_cap=3,
            hold_days=14,
        ),
    )
    assert response.status_code == 302
    page = admin_client.get(SETTINGS).get_data(as_text=True)
    assert "Bring a friend" in page and "100 points" in page and "tier Silver" in page
    assert "3 a month" in page and "held 14 days" in page
    rule = session.exec(select(RewardRule)).one()
    assert (rule.referrer_points, rule.referee_tier, rule.monthly_cap) == (100, "Silver", 3)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "reward_rule.created")).one()


@pytest.mark.parametrize("cap", ["0", "-2"])
def test_a_cap_of_zero_or_less_gets_its_own_message_and_nothing_is_saved(
    admin_client, session, cap
):
    response = admin_client.post(
        f"{SETTINGS}/rules",
        data=rule_form(
            admin_client, name="R", referrer_kind="points", referrer_points=5, monthly_cap=cap
        ),
    )
    assert response.status_code == 422
    error = html.unescape(field_error(response.get_data(as_text=True), "monthly_cap") or "")
    assert error.startswith("A cap per month must be at least 1 grant")
    assert session.exec(select(RewardRule)).all() == []


def test_a_cap_that_is_not_a_number_says_so(admin_client):
    response = admin_client.post(
        f"{SETTINGS}/rules",
        data=rule_form(
            admin_client, name="R", referrer_kind="points", referrer_points=5, yearly_cap="ten"
        ),
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "yearly_cap") == (
        "Enter a whole number, or leave it empty."
    )


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("A1\n\nA2", "Line 2 is blank."),
        ("A1\nA2\nA1", "“A1” is on line 1 and again on line 3."),
    ],
)
def test_a_code_pool_with_blank_lines_or_duplicates_is_refused(admin_client, codes, message):
    data = form_on_page(admin_client, SETTINGS, "benefit_name")
    data.update({"benefit_name": ["Voucher"], "codes": [codes]})
    response = admin_client.post(f"{SETTINGS}/benefits", data=data)
    assert response.status_code == 422
    assert message in html.unescape(field_error(response.get_data(as_text=True), "codes") or "")


def test_a_pool_that_ran_out_is_flagged_on_the_settings_screen_until_codes_are_added(
    admin_client, session, admin, referrer
):
    benefit = rewards.create_benefit(
        session, admin, name="Voucher", description="", codes="V-1", now=utcnow()
    )
    session.commit()
    make_rule(
        session,
        admin,
        referrer=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=benefit.public_id),
    )
    join(session, referrer, "one@example.org")
    join(session, referrer, "two@example.org")
    page = html.unescape(admin_client.get(SETTINGS).get_data(as_text=True))
    assert "“Voucher” has run out of codes: 1 reward waits for one." in page
    path = f"{SETTINGS}/benefits/{benefit.public_id}/codes"
    data = form_on_page(admin_client, path, "codes")
    data["codes"] = ["V-2\n"]
    response = admin_client.post(path, data=data, follow_redirects=True)
    assert "1 waiting reward issued." in response.get_data(as_text=True)
    assert "has run out of codes" not in response.get_data(as_text=True)


def test_members_and_hr_cant_open_the_rewards_settings(client, session, org):
    sign_in(client, make_member(session, org, Role.HR_TENANT))
    assert client.get(SETTINGS).status_code == 403


# --- My rewards -------------------------------------------------------------------------------


def test_my_rewards_shows_balance_codes_history_and_members_brought(
    client, session, admin, referrer
):
    benefit = rewards.create_benefit(
        session, admin, name="Cinema voucher", description="", codes="CINE-42", now=utcnow()
    )
    session.commit()
    make_rule(session, admin, referrer=points(100))
    make_rule(
        session,
        admin,
        referrer=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=benefit.public_id),
    )
    join(session, referrer, "one@example.org")
    join(session, referrer, "two@example.org")
    sign_in(client, referrer)
    page = html.unescape(client.get("/rewards").get_data(as_text=True))
    assert '<strong id="points-balance">200</strong>' in page
    assert "CINE-42" in page and "waiting for a code" in page
    assert "Your invitations brought 2 members." in page
    assert page.count('id="reward-rg-') == 4
    assert 'href="/rewards"' in client.get("/").get_data(as_text=True)  # the nav link


def test_points_in_their_hold_period_are_not_in_the_balance_yet(client, session, admin, referrer):
    make_rule(session, admin, referrer=points(100), hold_days=14)
    join(session, referrer, "one@example.org")
    sign_in(client, referrer)
    page = client.get("/rewards").get_data(as_text=True)
    assert '<strong id="points-balance">0</strong>' in page
    assert "100 more points become available" in page


def test_my_rewards_history_pages_by_keyset_at_a_constant_query_count(
    client, session, engine, admin, referrer
):
    make_rule(session, admin, referrer=points(1))
    join(session, referrer, "first@example.org")
    sign_in(client, referrer)
    client.get("/rewards")  # warm: the session's member and organisation are cached alike
    with count_queries(engine) as small:
        client.get("/rewards")
    for n in range(25):
        join(session, referrer, f"more{n}@example.org")
    with count_queries(engine) as large:
        first = client.get("/rewards").get_data(as_text=True)
    assert len(large) == len(small)
    assert first.count('id="reward-rg-') == 20 and "Older rewards" in first
    oldest_shown = sorted(g.id for g in grants(session))[-20]
    second = client.get(f"/rewards?before={oldest_shown}").get_data(as_text=True)
    assert second.count('id="reward-rg-') == 6 and "Older rewards" not in second


def test_a_page_address_that_is_not_a_keyset_is_refused(client, referrer):
    sign_in(client, referrer)
    assert client.get("/rewards?before=abc").status_code == 422


# --- Review -------------------------------------------------------------------------------------


def test_hr_reviews_held_rewards_in_their_unit_only(client, session, org, admin):
    north, south = make_unit(session, org, "N"), make_unit(session, org, "S")
    referrer = make_member(session, org, Role.USER, unit=north, email="rita@example.org")
    make_rule(session, admin, referrer=points(100))
    join(session, referrer, "rita+alt@example.org")
    (held,) = grants(session)
    south_hr = make_member(session, org, Role.HR_LOCAL, unit=south)
    sign_in(client, south_hr)
    assert held.public_id not in client.get("/rewards/review").get_data(as_text=True)
    assert client.get(f"/rewards/review/{held.public_id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, make_member(session, org, Role.HR_LOCAL, unit=north))
    listing = html.unescape(client.get("/rewards/review").get_data(as_text=True))
    assert "alias of the referrer" in listing
    path = f"/rewards/review/{held.public_id}"
    data = form_on_page(client, path, "note")
    refused = client.post(path, data={**data, "decision": "deny"})
    assert refused.status_code == 422
    assert "Say why" in (field_error(refused.get_data(as_text=True), "note") or "")
    data["note"] = ["Checked: her sister"]
    done = client.post(path, data={**data, "decision": "approve"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(RewardGrant, held.id).status == GrantStatus.ISSUED


def test_members_dont_see_review(client, referrer):
    sign_in(client, referrer)
    assert client.get("/rewards/review").status_code == 403
    assert "Review rewards" not in client.get("/").get_data(as_text=True)


# --- the device cookie --------------------------------------------------------------------------


def test_a_join_from_the_browser_the_referrer_logged_in_with_is_held(
    app, client, session, admin, referrer
):
    from portal.invites import service as invites
    from tests.unit.test_invites_service import secret_of

    make_rule(session, admin, referrer=points(100))
    sign_in(client, referrer)  # the login records this browser's device cookie
    assert client.get_cookie(COOKIE) is not None
    invitation = invites.send_invitation(
        session, referrer, email="friend@example.org", now=utcnow()
    ).invitation
    session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get(f"/join?invite_id={secret_of(session, invitation)}").status_code == 302
    data = form_on_page(client, "/join", "full_name")
    data.update({"full_name": ["Fred Friend"], "password": ["a long enough password"]})
    assert client.post("/join", data=data).status_code == 302
    (grant,) = grants(session)
    assert grant.status == GrantStatus.HELD and grant.signals == ["same_device"]


def test_a_join_from_another_browser_is_issued(app, client, session, admin, referrer):
    from portal.invites import service as invites
    from tests.unit.test_invites_service import secret_of

    make_rule(session, admin, referrer=points(100))
    sign_in(client, referrer)
    invitation = invites.send_invitation(
        session, referrer, email="friend@example.org", now=utcnow()
    ).invitation
    session.commit()
    other = app.test_client()
    assert other.get(f"/join?invite_id={secret_of(session, invitation)}").status_code == 302
    data = form_on_page(other, "/join", "full_name")
    data.update({"full_name": ["Fred Friend"], "password": ["a long enough password"]})
    assert other.post("/join", data=data).status_code == 302
    (grant,) = grants(session)
    assert grant.status == GrantStatus.ISSUED


# --- the e-mail ---------------------------------------------------------------------------------


def test_each_grant_tells_its_member_by_email_through_the_outbox(
    app, session, smtp, admin, referrer
):
    benefit = rewards.create_benefit(
        session, admin, name="Cinema voucher", description="", codes="CINE-42", now=utcnow()
    )
    session.commit()
    make_rule(
        session,
        admin,
        referrer=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=benefit.public_id),
        referee=points(20),
    )
    join(session, referrer, "newcomer@example.org")
    Worker(app).run_once()
    # The "accepted" note and the two rewards (the invitation itself was accepted unsent).
    smtp.wait_for(3)
    (to_referrer,) = [m for m in smtp.to("rita@example.org") if "referral reward" in m["Subject"]]
    assert to_referrer["Subject"] == (
        "You received a referral reward from Harbour Club: Cinema voucher"
    )
    body = to_referrer.get_body(("plain",)).get_content()
    assert "Your code: CINE-42" in body and "http://portal.test/rewards" in body
    (to_newcomer,) = smtp.to("newcomer@example.org")[-1:]
    assert "20 points" in to_newcomer["Subject"]
    assert "for joining through an invitation" in to_newcomer.get_body(("plain",)).get_content()


def test_the_email_of_a_reward_on_hold_says_when_and_shows_no_code_yet(
    app, session, smtp, admin, referrer
):
    make_rule(session, admin, referrer=points(100), hold_days=14)
    join(session, referrer, "newcomer@example.org")
    Worker(app).run_once()
    smtp.wait_for(2)  # the "accepted" note and the reward
    (mail,) = [m for m in smtp.to("rita@example.org") if "referral reward" in m["Subject"]]
    assert "It becomes available on" in mail.get_body(("plain",)).get_content()
    assert (utcnow() + timedelta(days=14)).strftime("%Y") in mail.get_body(("plain",)).get_content()


def test_the_review_list_costs_the_same_queries_for_one_or_many_held_rewards(
    client, session, engine, org, admin, referrer
):
    make_rule(session, admin, referrer=points(100))
    join(session, referrer, "rita+0@example.org")
    sign_in(client, make_member(session, org, Role.HR_TENANT))
    client.get("/rewards/review")
    with count_queries(engine) as small:
        client.get("/rewards/review")
    for n in range(1, 25):
        join(session, referrer, f"rita+{n}@example.org")
    with count_queries(engine) as large:
        page = client.get("/rewards/review").get_data(as_text=True)
    assert len(large) == len(small)
    assert page.count('<tr id="held-rg-') == 20 and "Older" in page
