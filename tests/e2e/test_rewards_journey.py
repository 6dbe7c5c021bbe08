"""Referral rewards in the browser: an admin creates a rule and edits it, an invitee joins
through the e-mailed invitation, and the referrer sees the reward on My rewards; HR
reviews a held reward with the keyboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from portal.clock import utcnow
from portal.models import Member, Organization
from portal.rewards import service as rewards
from portal.roles import Role
from tests.e2e.helpers import join_path, log_in, log_out, send_invitation, wait_for_mail
from tests.factories import make_member, make_org, settings
from tests.mailserver import MailServer, body
from tests.unit.rewards_support import join, make_rule, points

GUEST = "guest@example.org"


@pytest.fixture
def org(db: Session) -> Organization:
    return make_org(db, "Reward Club")


@pytest.fixture
def referrer(db: Session, org: Organization) -> Member:
    return make_member(db, org, Role.USER, email="max@example.org", full_name="Max Muster")


@pytest.fixture
def invitee(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server)
    yield context.new_page()
    context.close()


def test_an_admin_creates_a_rule_and_the_referrer_sees_the_reward_after_a_join(
    page: Page,
    invitee: Page,
    db: Session,
    org: Organization,
    referrer: Member,
    smtp: MailServer,
    live_app: Flask,
):
    admin = make_member(db, org, Role.ADMIN_TENANT, email="admin@example.org")
    rewards.create_benefit(
        db, admin, name="Cinema voucher", description="", codes="CINE-1\nCINE-2", now=utcnow()
    )
    db.commit()

    # The admin creates a rule: 100 points for the referrer, a voucher for the new member.
    log_in(page, admin.email)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Referral rewards").click()
    expect(page.get_by_role("heading", name="Settings → Referral rewards")).to_be_visible()
    page.get_by_label("Rule name").fill("Bring a friend")
    page.get_by_label("The referrer gets").select_option("points")
    page.get_by_label("Referrer's points").fill("100")
    page.get_by_label("The new member gets").select_option("benefit")
    page.get_by_label("New member's benefit").select_option(label="Cinema voucher")
    page.get_by_label("Cap per referrer per month").fill("0")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("A cap per month must be at least 1 grant")).to_be_visible()
    page.get_by_label("Cap per referrer per month").fill("5")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Rule “Bring a friend” created.")).to_be_visible()
    expect(page.locator("#reward-rules")).to_contain_text("100 points")

    # On second thoughts the admin edits it: 150 points. The form refuses what creation does.
    page.get_by_role("link", name="Edit Bring a friend").click()
    expect(page.get_by_role("heading", name="Edit rule “Bring a friend”")).to_be_visible()
    expect(page.get_by_text("Rewards already granted under this rule stay")).to_be_visible()
    expect(page.get_by_label("Referrer's points")).to_have_value("100")
    expect(page.get_by_label("Cap per referrer per month")).to_have_value("5")
    page.get_by_label("Referrer's points").fill("150")
    page.get_by_label("Cap per referrer per month").fill("-1")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("A cap per month must be at least 1 grant")).to_be_visible()
    page.get_by_label("Cap per referrer per month").fill("5")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Rule “Bring a friend” saved.")).to_be_visible()
    expect(page.locator("#reward-rules")).to_contain_text("150 points")
    log_out(page)

    # The referrer invites a guest, who joins through the e-mailed link in their browser.
    log_in(page, referrer.email)
    page.get_by_role("link", name="Invite", exact=True).click()
    send_invitation(page, GUEST, full_name="Grace Guest")
    email = wait_for_mail(smtp, GUEST, f"{referrer.full_name} invited you to join {org.name}")
    invitee.goto(join_path(email, live_app.config["PORTAL_BASE_URL"]))
    invitee.get_by_label("Password").fill("a long enough password")
    invitee.get_by_role("button", name="Join").click()
    expect(invitee.get_by_role("heading", name="Welcome, Grace Guest")).to_be_visible()

    # The referrer sees the reward on My rewards, and got an e-mail about it.
    page.get_by_role("link", name="My rewards").click()
    expect(page.get_by_role("heading", name="My rewards", exact=True)).to_be_visible()
    expect(page.locator("#points-balance")).to_have_text("150")
    expect(page.get_by_text("Your invitations brought 1 member.")).to_be_visible()
    expect(page.locator("#reward-history")).to_contain_text("Bring a friend")
    mail = wait_for_mail(
        smtp, referrer.email, f"You received a referral reward from {org.name}: 150 points"
    )
    assert "/rewards" in body(mail, "plain")

    # The new member sees their voucher's code.
    invitee.get_by_role("link", name="My rewards").click()
    expect(invitee.locator("#benefits")).to_contain_text("CINE-1")


def test_hr_approves_a_held_reward_with_the_keyboard(
    page: Page, db: Session, org: Organization, referrer: Member
):
    settings(db, org)
    admin = make_member(db, org, Role.ADMIN_TENANT, email="admin@example.org")
    make_rule(db, admin, referrer=points(50))
    join(db, referrer, "max+second@example.org")  # an alias of the referrer: held
    hr = make_member(db, org, Role.HR_TENANT, email="hr@example.org")
    log_in(page, hr.email)
    page.get_by_role("link", name="Review rewards").click()
    expect(page.get_by_role("heading", name="Rewards → Review")).to_be_visible()
    expect(page.locator("#held-rewards")).to_contain_text("alias of the referrer")
    review = page.get_by_role("link", name="Review the reward for Max Muster")
    review.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review: 50 points for Max Muster")).to_be_visible()
    page.get_by_label("Note").focus()
    page.keyboard.type("Checked with the member: a second address of their own.")
    page.keyboard.press("Tab")  # to Approve
    page.keyboard.press("Enter")
    expect(page.get_by_text("Reward approved and issued.")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for review.")).to_be_visible()
