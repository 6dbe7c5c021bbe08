"""An admin creates an API token on the page; another system uses it to invite someone."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from portal.roles import Role
from tests.e2e.helpers import expect_listed, log_in
from tests.factories import make_member, make_org, make_unit

GUEST = "crm.guest@example.org"


def test_a_token_made_on_the_settings_page_invites_through_the_api(
    page: Page, db, live_server: str
):
    org = make_org(db, "Demo Club")
    admin = make_member(
        db,
        org,
        Role.ADMIN_TENANT,
        unit=make_unit(db, org, "North"),
        email="admin@example.org",
        full_name="Ada Admin",
    )

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(page, admin.email)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="Settings → API tokens")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("CRM")
    expect(page.get_by_label("Owner", exact=True)).to_have_value(admin.public_id)
    page.get_by_label("create-invites").check()
    page.get_by_label("read-invites").check()
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("Copy it now: it won't be shown again.")).to_be_visible()
    token = page.get_by_label("Your new API token").input_value()
    assert token.startswith("mpt_")
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    row = page.locator("#api-tokens tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("CRM")
    expect(row).to_contain_text("Ada Admin")
    expect(row).to_contain_text("read-invites, create-invites")

    with httpx.Client(base_url=f"{live_server}/api/v1", timeout=10) as api:
        response = api.post(
            "/invites",
            json={"email": GUEST, "fullName": "Carla CRM"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["inviterId"] == admin.public_id
        assert created["inviteLandingPageUrl"].startswith("http://portal.test/join?invite_id=")
        listed = api.get("/invites", headers={"Authorization": f"Bearer {token}"}).json()
        assert [item["id"] for item in listed["data"]] == [created["id"]]

    page.goto("/invites")
    expect_listed(page, "Pending", GUEST, count=1)
    expect(page.get_by_role("cell", name="Carla CRM", exact=True)).to_be_visible()

    # The page shows the token was used, and never shows it again.
    page.goto("/admin/settings/api-tokens")
    expect(page.get_by_label("Your new API token")).to_have_count(0)
    expect(page.locator('#api-tokens td[data-label="Last used"]')).not_to_have_text("Never")
    assert token not in page.content()
