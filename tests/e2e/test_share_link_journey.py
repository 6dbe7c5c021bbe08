"""A member copies their personal share link, someone opens it in their own browser and
joins; the referrer sees the new member on their dashboard and the reward on My rewards,
and the admin sees the join in the analytics; a regenerated link's old address explains
itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from portal.models import Member, Organization
from portal.roles import Role
from tests.e2e.helpers import expect_listed, log_in, log_out
from tests.factories import make_member, make_org, make_unit
from tests.unit.rewards_support import make_rule, points

NEWCOMER = "nora@example.org"


@pytest.fixture
def org(db: Session) -> Organization:
    return make_org(db, "Demo Club")


@pytest.fixture
def referrer(db: Session, org: Organization) -> Member:
    unit = make_unit(db, org, "North")
    return make_member(
        db, org, Role.USER, unit=unit, email="max@example.org", full_name="Max Muster"
    )


@pytest.fixture
def visitor(browser: Browser, live_server: str) -> Iterator[Page]:
    """A second browser, with its own cookies: the person the link was shared with."""
    context = browser.new_context(base_url=live_server)
    yield context.new_page()
    context.close()


def test_a_member_shares_their_link_and_a_newcomer_joins_through_it(
    page: Page,
    visitor: Page,
    db: Session,
    org: Organization,
    referrer: Member,
    live_app: Flask,
    live_server: str,
):
    admin = make_member(db, org, Role.ADMIN_TENANT, email="ada@example.org")
    make_rule(db, admin, referrer=points(50))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(page, referrer.email)
    page.get_by_role("link", name="Invite", exact=True).click()
    expect(page.get_by_role("heading", name="Your personal link")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of your link")).to_be_visible()

    # Copy link, from the keyboard; the live region says so.
    copy = page.get_by_role("button", name="Copy link")
    copy.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    link = page.get_by_label("Your link", exact=True).input_value()
    assert page.evaluate("navigator.clipboard.readText()") == link
    base_url_in_links = live_app.config["PORTAL_BASE_URL"]
    assert link.startswith(f"{base_url_in_links}/r/"), link

    # The newcomer opens it in their own browser: the code leaves the address bar.
    visitor.goto(link.removeprefix(base_url_in_links))
    expect(visitor).to_have_url(f"{live_server}/r")
    expect(visitor.get_by_role("heading", name="Max Muster invited you")).to_be_visible()
    visitor.get_by_label("Full name", exact=True).fill("Nora Newcomer")
    visitor.get_by_label("Email", exact=True).fill(NEWCOMER)
    visitor.get_by_label("Password").fill("a long enough password")
    visitor.get_by_role("button", name="Join").click()
    expect(visitor.get_by_text("Welcome to Demo Club, Nora Newcomer!")).to_be_visible()

    # The referrer sees the new member among their accepted invitations, and the link's count.
    page.reload()
    expect_listed(page, "Accepted", NEWCOMER, count=1)
    # A join through a link is a referral like any other: the rule rewarded it.
    page.get_by_role("link", name="My rewards").click()
    expect(page.locator("#points-balance")).to_have_text("50")
    page.get_by_role("link", name="Invite", exact=True).click()
    row = page.get_by_role("row").filter(has_text="Personal link")
    expect(row.get_by_role("cell").nth(2)).to_have_text("1")  # joins
    row.get_by_role("link", name="Personal link").click()
    expect(page.get_by_role("heading", name="Who joined through it")).to_be_visible()
    expect(page.get_by_role("cell", name=NEWCOMER, exact=True)).to_be_visible()

    # Regenerating: the old address now says it was replaced, and by whom to ask.
    page.get_by_role("link", name="Back to Invite").click()
    page.get_by_role("button", name="Regenerate: Personal link").click()
    expect(page.get_by_text("A new link was made. The old one no longer works.")).to_be_visible()
    assert page.get_by_label("Your link", exact=True).input_value() != link
    stranger = visitor.context.browser.new_context(base_url=live_server).new_page()
    response = stranger.goto(link.removeprefix(base_url_in_links))
    assert response is not None and response.status == 410
    expect(stranger.get_by_role("heading", name="This link was replaced")).to_be_visible()
    expect(
        stranger.get_by_text(
            "This link was replaced by a newer one — ask Max Muster for the new link."
        )
    ).to_be_visible()
    stranger.context.close()

    # The admin sees the funnel move: one more member, through a share link.
    log_out(page)
    log_in(page, admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    expect(page.locator("#link-joins")).to_have_text("And 1 joined through share links.")
