"""Adhesion in the browser: an admin turns approval on and adds a question; an invitee
joins from the invitation e-mail, answers it and sees their application being reviewed; HR
approves it; the applicant is e-mailed and can use the portal. And /register, open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from portal.models import Member, MembershipSettings, Organization
from portal.roles import Role
from tests.e2e.helpers import join_path, log_in, log_out, send_invitation, wait_for_mail
from tests.factories import make_member, make_org, make_unit
from tests.mailserver import MailServer

APPLICANT = "nora@example.org"


@pytest.fixture
def org(db: Session) -> Organization:
    return make_org(db, "Demo Club")


@pytest.fixture
def admin(db: Session, org: Organization) -> Member:
    unit = make_unit(db, org, "North")
    return make_member(
        db, org, Role.ADMIN_TENANT, unit=unit, email="ada@example.org", full_name="Ada Admin"
    )


@pytest.fixture
def applicant_page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A second browser, with its own cookies: the person invited."""
    context = browser.new_context(base_url=live_server)
    yield context.new_page()
    context.close()


def test_an_invitee_applies_hr_approves_and_the_applicant_uses_the_portal(
    page: Page,
    applicant_page: Page,
    db: Session,
    org: Organization,
    admin: Member,
    live_app: Flask,
    smtp: MailServer,
):
    hr = make_member(db, org, Role.HR_TENANT, email="hana@example.org", full_name="Hana HR")
    log_in(page, admin.email)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Membership").click()
    page.get_by_label("New members must be approved").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Membership settings saved.")).to_be_visible()
    page.get_by_label("Question", exact=True).fill("Your boat")
    page.get_by_label("Required").check()
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("cell", name="Your boat", exact=True)).to_be_visible()

    page.get_by_role("link", name="Invite", exact=True).click()
    send_invitation(page, APPLICANT, "Nora Newcomer")
    invitation = wait_for_mail(smtp, APPLICANT, "Ada Admin invited you to join Demo Club")

    # The invitee joins from the e-mail, in their own browser, and answers the question.
    applicant_page.goto(join_path(invitation, live_app.config["PORTAL_BASE_URL"]))
    applicant_page.get_by_label("Password").fill("a long enough password")
    applicant_page.get_by_label("Why do you want to join?").fill("I love sailing.")
    applicant_page.get_by_role("button", name="Join").click()
    expect(applicant_page.get_by_text("Answer “Your boat”.")).to_be_visible()
    applicant_page.get_by_label("Password").fill("a long enough password")
    applicant_page.get_by_label("Your boat").fill("Swift")
    applicant_page.get_by_role("button", name="Join").click()
    expect(
        applicant_page.get_by_role("heading", name="Your application is being reviewed")
    ).to_be_visible()
    applicant_page.goto("/rewards")  # a member feature: not yet
    expect(
        applicant_page.get_by_role("heading", name="Your application is being reviewed")
    ).to_be_visible()

    # The inviter's dashboard says where the invitation stands.
    page.reload()
    page.get_by_role("link", name="Show accepted invitations").click()
    expect(page.get_by_text("Joined — awaiting approval")).to_be_visible()
    log_out(page)

    # HR reviews and approves, with a note.
    log_in(page, hr.email)
    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_role("link", name="Review the application of Nora Newcomer").click()
    expect(page.get_by_text("Swift")).to_be_visible()
    expect(page.get_by_text("I love sailing.")).to_be_visible()
    expect(page.get_by_text("Ada Admin (ada@example.org)")).to_be_visible()
    page.get_by_label("Note to the applicant").fill("Welcome aboard!")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Application approved.")).to_be_visible()

    wait_for_mail(smtp, APPLICANT, "Welcome to Demo Club: your application was approved")
    applicant_page.goto("/")
    expect(applicant_page.get_by_role("heading", name="Welcome, Nora Newcomer")).to_be_visible()
    applicant_page.get_by_role("link", name="My rewards").click()
    expect(applicant_page.get_by_role("heading", name="My rewards")).to_be_visible()


def test_someone_registers_without_an_invitation_and_waits_for_review(
    page: Page, db: Session, org: Organization, admin: Member
):
    db.add(
        MembershipSettings(organization_id=org.id, approval_required=True, open_registration=True)
    )
    db.commit()
    page.goto("/register")
    expect(page.get_by_role("heading", name="Join Demo Club")).to_be_visible()
    page.get_by_label("Full name", exact=True).fill("Rita Register")
    page.get_by_label("Email", exact=True).fill("rita@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Your application is being reviewed")).to_be_visible()
    page.goto("/invites")
    expect(page.get_by_role("heading", name="Your application is being reviewed")).to_be_visible()
