"""An admin changes a setting and finds the change, with its before and after, in the log."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.roles import Role
from tests.e2e.helpers import log_in, set_who_can_invite
from tests.factories import make_member, make_org


def test_an_admin_changes_a_setting_and_sees_it_in_the_audit_log(page: Page, db):
    org = make_org(db, "Demo Club")
    admin = make_member(
        db, org, Role.ADMIN_TENANT, email="admin@example.org", full_name="Ada Admin"
    )
    log_in(page, admin.email)
    set_who_can_invite(page, "HR_LOCAL")

    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Settings → Audit log")).to_be_visible()
    table = page.locator("#audit-events")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and one change
    row = table.get_by_role("row").nth(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text("Ada Admin <admin@example.org>")
    expect(row).to_contain_text("Invitation settings changed")
    expect(row).to_contain_text("Who can send invitations: Member → Local HR")
    expect(row).to_contain_text("127.0.0.1")

    # The filters narrow it, and say so when nothing matches.
    page.get_by_label("Action").select_option("webhook.secret_rolled")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No changes match these filters.")).to_be_visible()
    page.get_by_label("Action").select_option("settings.invitations.updated")
    page.get_by_label("Done by (e-mail)").fill("admin@example.org")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-events").get_by_role("row")).to_have_count(2)
