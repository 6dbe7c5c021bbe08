"""Editing a referral reward rule (issue 11): the creation form filled in with the rule, the
same rules, an audit row of what changed; grants already in the ledger stay as written and
caps keep counting them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.models import AuditEvent, GrantStatus, RewardRule
from portal.roles import Role
from tests.conftest import sign_in
from tests.factories import make_member, make_org
from tests.unit.rewards_support import grants, join, make_rule, points
from tests.web.form_support import field_error, form_on_page

SETTINGS = "/admin/settings/rewards"
TODAY = datetime.combine(utcnow().date(), time(), tzinfo=UTC)
FROM, UNTIL = TODAY - timedelta(days=30), TODAY + timedelta(days=61)  # UNTIL is exclusive


@pytest.fixture
def rule(session, admin):
    return make_rule(
        session,
        admin,
        referrer=points(100),
        monthly_cap=3,
        active_from=FROM,
        active_until=UNTIL,
    )


def edit_path(rule: RewardRule) -> str:
    return f"{SETTINGS}/rules/{rule.public_id}/edit"


def edit_form(client, rule: RewardRule, **values) -> dict[str, list[str]]:
    data = form_on_page(client, edit_path(rule), "referrer_kind")
    data.update({name: [str(value)] for name, value in values.items()})
    return data


def stored(session, rule: RewardRule) -> RewardRule:
    session.expire_all()
    return session.get(RewardRule, rule.id)


def edits(session) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == "reward_rule.updated")))


def test_the_settings_screen_links_each_rule_to_its_edit_page(admin_client, rule):
    page = admin_client.get(SETTINGS).get_data(as_text=True)
    assert f'href="{edit_path(rule)}">Edit<span class="visually-hidden"> Welcome</span>' in page


def test_the_edit_page_is_the_creation_form_filled_in_and_says_grants_stay(admin_client, rule):
    response = admin_client.get(edit_path(rule))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Edit rule “Welcome”" in page
    assert "Rewards already granted under this rule stay as they are" in page
    data = form_on_page(admin_client, edit_path(rule), "referrer_kind")
    assert data["name"] == ["Welcome"] and data["referrer_kind"] == ["points"]
    assert data["referrer_points"] == ["100"] and data["monthly_cap"] == ["3"]
    assert data["active_from"] == [FROM.date().isoformat()]
    # The last day included, as the admin typed it.
    assert data["active_until"] == [(UNTIL - timedelta(days=1)).date().isoformat()]


def test_a_valid_edit_is_saved_and_audited_with_the_changed_fields_only(
    admin_client, session, rule
):
    response = admin_client.post(
        edit_path(rule),
        data=edit_form(admin_client, rule, name="Bring a friend", referrer_points=250),
    )
    assert response.status_code == 302 and response.headers["Location"] == SETTINGS
    assert "Rule “Bring a friend” saved." in admin_client.get(SETTINGS).get_data(as_text=True)
    saved = stored(session, rule)
    assert (saved.name, saved.referrer_points, saved.monthly_cap) == ("Bring a friend", 250, 3)
    # Dates untouched through the form's round trip.
    assert (saved.active_from, saved.active_until) == (FROM, UNTIL)
    [event] = edits(session)
    assert event.before == {"name": "Welcome", "referrer_points": 100}
    assert event.after == {"name": "Bring a friend", "referrer_points": 250}
    assert (event.target_type, event.target_id) == ("reward_rule", rule.public_id)


def test_saving_unchanged_writes_no_audit_row(admin_client, session, rule):
    response = admin_client.post(edit_path(rule), data=edit_form(admin_client, rule))
    assert response.status_code == 302
    assert edits(session) == []


@pytest.mark.parametrize("cap", ["0", "-2"])
def test_a_cap_of_zero_or_less_is_refused_with_creations_words_and_nothing_changes(
    admin_client, session, rule, cap
):
    response = admin_client.post(
        edit_path(rule), data=edit_form(admin_client, rule, name="Changed", monthly_cap=cap)
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (field_error(page, "monthly_cap") or "").startswith(
        "A cap per month must be at least 1 grant"
    )
    assert "Nothing was saved" in page
    saved = stored(session, rule)
    assert (saved.name, saved.monthly_cap) == ("Welcome", 3)
    assert edits(session) == []


def test_the_other_rules_of_creation_hold_too(admin_client, session, rule):
    response = admin_client.post(
        edit_path(rule),
        data=edit_form(admin_client, rule, referrer_kind="none", referee_kind="none"),
    )
    assert response.status_code == 422
    assert "Choose a reward for the referrer, the new member, or both." in response.get_data(
        as_text=True
    )
    response = admin_client.post(
        edit_path(rule), data=edit_form(admin_client, rule, yearly_cap="soon")
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "yearly_cap") == (
        "Enter a whole number, or leave it empty."
    )
    assert stored(session, rule).referrer_kind == "points"


def test_another_organisations_rule_is_a_404(client, session, rule):
    sign_in(client, make_member(session, make_org(session, "Elsewhere"), Role.ADMIN_TENANT))
    assert client.get(edit_path(rule)).status_code == 404


def test_another_organisations_rule_is_a_404_with_a_valid_form(app, admin_client, session, rule):
    data = edit_form(admin_client, rule, name="Mine now")
    other = make_member(session, make_org(session, "Elsewhere"), Role.ADMIN_TENANT)
    client = sign_in(app.test_client(), other)
    token = form_on_page(client, SETTINGS, "referrer_kind")["csrf_token"]
    response = client.post(edit_path(rule), data={**data, "csrf_token": token})
    assert response.status_code == 404
    assert stored(session, rule).name == "Welcome"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_non_admins_get_403_and_change_nothing(client, session, org, rule, role):
    sign_in(client, make_member(session, org, role))
    assert client.get(edit_path(rule)).status_code == 403
    token = form_on_page(client, "/invites", "email")["csrf_token"]
    response = client.post(edit_path(rule), data={"name": "Mine now", "csrf_token": token})
    assert response.status_code == 403
    assert stored(session, rule).name == "Welcome"


def test_grants_already_written_stay_and_caps_keep_counting_them(admin_client, session, org, rule):
    referrer = make_member(session, org, Role.USER, email="rita@example.org")
    join(session, referrer, "first@example.org")
    join(session, referrer, "second@example.org")
    admin_client.post(
        edit_path(rule), data=edit_form(admin_client, rule, referrer_points=500, monthly_cap=2)
    )
    session.expire_all()  # the test's session still holds the rule as it was
    join(session, referrer, "third@example.org")
    first, second, third = grants(session, member_id=referrer.id)
    # The ledger is history: the first two keep the points they were granted.
    assert (first.points, second.points) == (100, 100)
    assert first.status == second.status == GrantStatus.ISSUED
    # The lower cap counts the grants this rule already made this month.
    assert third.status == GrantStatus.CAPPED
    admin_client.post(edit_path(rule), data=edit_form(admin_client, rule, monthly_cap=5))
    session.expire_all()
    join(session, referrer, "fourth@example.org")
    fourth = grants(session, member_id=referrer.id)[-1]
    assert (fourth.status, fourth.points) == (GrantStatus.ISSUED, 500)
