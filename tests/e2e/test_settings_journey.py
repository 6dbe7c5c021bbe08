"""An admin narrows and widens who may invite; a plain member sees the effect."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.roles import Role
from tests.e2e.helpers import log_in, log_out
from tests.factories import make_member, make_org, make_unit


def set_who_can_invite(page: Page, level: str) -> None:
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Who can send invitations").select_option(level)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Invitation settings saved.")).to_be_visible()


def test_admin_restricts_inviting_and_a_member_loses_then_regains_it(page: Page, db):
    org = make_org(db, "Demo Club")
    unit = make_unit(db, org, "North")
    admin = make_member(db, org, Role.ADMIN_TENANT, unit=unit, email="admin@example.org")
    member = make_member(db, org, Role.USER, unit=unit, email="max@example.org")

    log_in(page, admin.email)
    set_who_can_invite(page, "HR_LOCAL")
    expect(page.get_by_label("Who can send invitations")).to_have_value("HR_LOCAL")
    log_out(page)

    log_in(page, member.email)
    expect(page.get_by_role("link", name="Invite", exact=True)).to_have_count(0)
    response = page.goto("/invites")
    assert response is not None and response.status == 403
    expect(page.get_by_text("HR and admins can invite")).to_be_visible()
    expect(page.get_by_text("you can't send invitations")).to_be_visible()
    page.goto("/")
    log_out(page)

    log_in(page, admin.email)
    set_who_can_invite(page, "USER")
    log_out(page)

    log_in(page, member.email)
    page.get_by_role("link", name="Invite", exact=True).click()
    expect(page.get_by_role("heading", name="Invite people to Demo Club")).to_be_visible()


def test_invalid_settings_are_explained_next_to_the_field(page: Page, db):
    org = make_org(db, "Demo Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="admin@example.org")
    log_in(page, admin.email)
    page.goto("/admin/settings/invitations")
    page.get_by_label("Invitation expiry (days)").fill("120")
    page.get_by_label("Brand colour").fill("green")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.get_by_text("Choose between 1 and 90 days.")).to_be_visible()
    expect(page.get_by_text("Use a hex colour such as #2f6f4f.")).to_be_visible()
