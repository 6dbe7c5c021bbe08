"""The invitation settings' rules in the service itself (portal.orgs.settings), called
without the form: every rule the settings form shows, refused with the form's words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.clock import utcnow
from portal.errors import Invalid, NotAllowed
from portal.models import Organization
from portal.orgs.service import settings_for
from portal.orgs.settings import InvitationSettingsInput, update_invitation_settings
from portal.roles import Role
from tests.factories import make_member

GOOD = InvitationSettingsInput(
    enabled=True,
    min_inviter_role=Role.HR_LOCAL,
    expiry_days=30,
    max_validity_days=90,
    daily_limit_per_member=20,
    bind_invitee_email=True,
    name="Riverside Rowing",
    description="Rowing on the river since 1901.",
    brand_color="#123ABC",
    logo_url="https://example.org/logo.png",
)


def save(session, actor, **changes):
    update_invitation_settings(session, actor, replace(GOOD, **changes), utcnow())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # The same values and words as tests/web/test_settings.py asserts on the page.
        ("expiry_days", 0, "Choose between 1 and 90 days."),
        ("expiry_days", 91, "Choose between 1 and 90 days."),
        ("expiry_days", None, "Enter a number of days."),
        ("expiry_days", True, "Enter a number of days."),
        ("max_validity_days", 366, "Choose at most 365 days."),
        ("max_validity_days", 20, "Choose between 30 days (the invitation expiry) and 365 days."),
        ("max_validity_days", None, "Enter a number of days."),
        ("daily_limit_per_member", 0, "Choose between 1 and 1,000 invitations a day."),
        ("daily_limit_per_member", 1001, "Choose between 1 and 1,000 invitations a day."),
        ("daily_limit_per_member", "20", "Enter a number of invitations."),
        ("min_inviter_role", "SUPERUSER", "Not a valid choice."),
        ("name", "", "Enter the organisation's name."),
        ("name", "   ", "Enter the organisation's name."),
        ("name", "x" * 121, "At most 120 characters."),
        ("name", "Eve\r\nBcc: x", "An organisation name can't contain line breaks or"),
        ("description", "d" * 2001, "At most 2,000 characters."),
        ("brand_color", "", "Enter a colour such as #2f6f4f."),
        ("brand_color", "green", "Use a hex colour such as #2f6f4f."),
        ("brand_color", "#2f6f4f\n", "A brand colour can't contain line breaks or"),
        ("logo_url", "javascript:alert(1)", "Enter a full address such as"),
        ("logo_url", "https://", "Enter a full address such as"),
        ("logo_url", "ftp://example.org/logo.png", "The logo address must start with https://."),
        ("logo_url", "http://example.org/logo.png", "The logo address must start with https://."),
        ("logo_url", "https://example.org/" + "x" * 500, "At most 500 characters."),
    ],
)
def test_each_bad_value_is_refused_on_its_field_and_nothing_changes(
    session, org, admin, field, value, message
):
    with pytest.raises(Invalid) as refused:
        save(session, admin, **{field: value})
    assert refused.value.field == field
    assert refused.value.message.startswith(message)
    session.rollback()
    assert settings_for(session, org.id).expiry_days == 14
    assert session.get(Organization, org.id).name == org.name


def test_good_values_are_stored_as_the_pages_show_them(session, org, admin):
    save(session, admin, min_inviter_role="HR_TENANT", name="  Riverside  ", logo_url="")
    session.commit()
    settings, stored = settings_for(session, org.id), session.get(Organization, org.id)
    assert (settings.min_inviter_role, settings.expiry_days, settings.max_validity_days) == (
        "HR_TENANT",
        30,
        90,
    )
    assert (stored.name, stored.brand_color, stored.logo_url) == ("Riverside", "#123abc", "")


def test_the_bounds_themselves_are_allowed(session, admin):
    save(session, admin, expiry_days=1, max_validity_days=1, daily_limit_per_member=1000)
    save(session, admin, expiry_days=90, max_validity_days=365, daily_limit_per_member=1)


def test_only_organisation_admins_may_change_them(session, org):
    with pytest.raises(NotAllowed):
        save(session, make_member(session, org, Role.HR_TENANT))
