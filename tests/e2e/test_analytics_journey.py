"""An admin reads the funnel and a member finds themself on the top recruiters board."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from portal.clock import utcnow
from portal.roles import Role
from tests.e2e.helpers import log_in, log_out
from tests.factories import make_invitation, make_member, make_org, make_unit


def test_an_admin_reads_the_funnel_and_turns_on_the_board_a_member_then_sees(page: Page, db):
    org = make_org(db, "Chart Club")
    north = make_unit(db, org, "North")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="chart-admin@example.org")
    nora = make_member(
        db, org, Role.USER, unit=north, email="nora@example.org", full_name="Nora North"
    )
    now = utcnow()
    for days, joined in ((2, True), (3, True), (4, False)):
        created = now - timedelta(days=days)
        accepted = created + timedelta(hours=5) if joined else None
        make_invitation(db, nora, created_at=created, accepted_at=accepted)

    log_in(page, admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Invitation analytics")).to_be_visible()
    expect(page.get_by_role("img", name="From invitation to member")).to_be_visible()
    joined = page.locator("#funnel-table").get_by_role("row", name="Joined")
    expect(joined.get_by_role("cell").first).to_have_text("2")
    expect(page.locator("#inviters-table")).to_contain_text("67%")
    page.get_by_label("Period").select_option("30d")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=30d$"))
    with page.expect_download() as download:
        page.locator("#funnel-heading ~ p a", has_text="Download as CSV").click()
    assert download.value.suggested_filename == "invitations-funnel-30d.csv"

    page.goto("/admin/settings/leaderboard")
    page.get_by_label("Show members the top recruiters board").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Leaderboard settings saved.")).to_be_visible()
    log_out(page)

    log_in(page, nora.email)
    page.get_by_role("link", name="Top recruiters").click()
    page.get_by_label("Period").select_option("all")  # this month may have begun in between
    page.get_by_role("button", name="Show").click()
    row = page.locator("#leaderboard").get_by_role("row").nth(1)
    expect(row).to_contain_text("Nora North (you)")
    expect(row.get_by_role("cell").last).to_have_text("2")
    page.get_by_label("Among").select_option("unit")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#leaderboard")).to_contain_text("Nora North")
