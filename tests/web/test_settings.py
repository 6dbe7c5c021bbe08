"""Settings → Invitations through the test client."""

from __future__ import annotations

import pytest

from portal.models import InvitationSettings, Organization
from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org, make_unit

URL = "/admin/settings/invitations"

VALID = {
    "enabled": "y",
    "min_inviter_role": "HR_LOCAL",
    "expiry_days": "30",
    "max_validity_days": "90",
    "daily_limit_per_member": "20",
    "bind_invitee_email": "y",
    "name": "Riverside Rowing",
    "description": "Rowing on the river since 1901.",
    "brand_color": "#123ABC",
    "logo_url": "https://example.org/logo.png",
}


@pytest.fixture
def org(session):
    return make_org(session, "Riverside")


def stored(session, org):
    session.expire_all()
    return session.get(InvitationSettings, org.id), session.get(Organization, org.id)


def test_settings_page_shows_each_level_with_a_plain_explanation(admin_client):
    page = admin_client.get(URL).get_data(as_text=True)
    for label in (
        "Enable invitations",
        "Who can send invitations",
        "Invitation expiry (days)",
        "Daily invitations per member",
        "Invitees must register with the invited address",
    ):
        assert label in page
    assert "Member — All members can invite" in page
    assert "Organisation admin — Only organisation admins can invite" in page


def test_defaults_are_on_everyone_14_days_50_a_day_bound_address(session, org):
    settings, _ = stored(session, org)
    assert (
        settings.enabled,
        settings.min_inviter_role,
        settings.expiry_days,
        settings.daily_limit_per_member,
        settings.bind_invitee_email,
    ) == (True, "USER", 14, 50, True)


def test_valid_save_stores_everything_and_confirms(admin_client, session, org):
    response = admin_client.post(
        URL, data={**VALID, "csrf_token": csrf_token(admin_client, URL)}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Invitation settings saved." in response.get_data(as_text=True)
    settings, organization = stored(session, org)
    assert settings.min_inviter_role == "HR_LOCAL"
    assert settings.expiry_days == 30
    assert settings.daily_limit_per_member == 20
    assert organization.name == "Riverside Rowing"
    assert organization.brand_color == "#123abc"
    assert organization.logo_url == "https://example.org/logo.png"


def test_unchecking_a_checkbox_turns_the_setting_off(admin_client, session, org):
    data = {k: v for k, v in VALID.items() if k not in ("enabled", "bind_invitee_email")}
    admin_client.post(URL, data={**data, "csrf_token": csrf_token(admin_client, URL)})
    settings, _ = stored(session, org)
    assert settings.enabled is False
    assert settings.bind_invitee_email is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expiry_days", "0", "Choose between 1 and 90 days."),
        ("expiry_days", "91", "Choose between 1 and 90 days."),
        ("expiry_days", "soon", "Not a valid integer value."),
        ("daily_limit_per_member", "0", "Choose between 1 and 1,000 invitations a day."),
        ("min_inviter_role", "SUPERUSER", "Not a valid choice."),
        ("name", "", "Enter the organisation&#39;s name."),
        ("name", "x" * 121, "At most 120 characters."),
        ("brand_color", "green", "Use a hex colour such as #2f6f4f."),
        ("logo_url", "javascript:alert(1)", "Enter a full address"),
        ("logo_url", "ftp://example.org/logo.png", "must start with https://"),
        ("description", "d" * 2001, "At most 2,000 characters."),
    ],
)
def test_invalid_values_are_refused_field_by_field_and_nothing_is_saved(
    admin_client, session, org, field, value, message
):
    response = admin_client.post(
        URL, data={**VALID, field: value, "csrf_token": csrf_token(admin_client, URL)}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Nothing was saved" in page
    settings, organization = stored(session, org)
    assert settings.min_inviter_role == "USER" and settings.expiry_days == 14
    assert organization.name == "Riverside"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_non_admins_get_403_and_change_nothing(client, session, org, role):
    member = make_member(session, org, role, unit=make_unit(session, org))
    login(client, member.email)
    assert client.get(URL).status_code == 403
    response = client.post(URL, data={**VALID, "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 403
    assert "Only organisation admins" in response.get_data(as_text=True)
    settings, organization = stored(session, org)
    assert settings.min_inviter_role == "USER" and organization.name == "Riverside"


def test_post_without_csrf_token_is_refused(admin_client, session, org):
    response = admin_client.post(URL, data=VALID)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    settings, _ = stored(session, org)
    assert settings.min_inviter_role == "USER"


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("expiry", "longest", "message"),
    [
        ("30", "20", "Choose between 30 days (the invitation expiry) and 365 days."),
        ("14", "366", "Choose at most 365 days."),
        ("14", "", "Enter a number of days."),
    ],
)
def test_the_longest_validity_must_lie_between_the_expiry_and_a_year(
    admin_client, session, org, expiry, longest, message
):
    data = {**VALID, "expiry_days": expiry, "max_validity_days": longest}
    response = admin_client.post(URL, data={**data, "csrf_token": csrf_token(admin_client, URL)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Longest an invitation can stay open (days)" in page
    settings, _ = stored(session, org)
    assert (settings.expiry_days, settings.max_validity_days) == (14, 60)


def test_the_longest_validity_is_saved(admin_client, session, org):
    data = {**VALID, "expiry_days": "30", "max_validity_days": "120"}
    admin_client.post(URL, data={**data, "csrf_token": csrf_token(admin_client, URL)})
    settings, _ = stored(session, org)
    assert (settings.expiry_days, settings.max_validity_days) == (30, 120)
