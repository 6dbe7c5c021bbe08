"""An admin connects a webhook receiver and watches a test event arrive."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from portal.roles import Role
from tests.e2e.helpers import log_in
from tests.factories import make_member, make_org


def test_admin_adds_an_endpoint_sends_a_test_event_and_sees_it_delivered(
    page: Page, db, receiver, live_server: str
):
    org = make_org(db, "Demo Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="admin@example.org")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(page, admin.email)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("Our CRM")
    page.get_by_role("button", name="Add endpoint").click()

    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event queued.")).to_be_visible()
    deliveries = page.locator("#deliveries")
    # The list refreshes itself while the delivery is on its way.
    expect(deliveries.get_by_text("sent", exact=True)).to_be_visible(timeout=15_000)
    expect(deliveries.get_by_role("cell", name="200", exact=True)).to_be_visible()
    assert json.loads(receiver.received[0].body)["type"] == "INVITE_TEST"
    expect(page.locator("#signing-secret")).to_have_count(0)  # shown once only
