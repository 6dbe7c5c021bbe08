"""A member invites someone, the invitee joins through the e-mailed link; and what the
invitee sees when the link has expired or was withdrawn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import Invitation, Member, Organization
from portal.roles import Role
from tests.e2e.helpers import (
    expect_listed,
    expect_not_reloaded,
    fill_invitation,
    join_path,
    log_in,
    log_out,
    mark_page,
    row_button,
    send_invitation,
    set_who_can_invite,
    wait_for_mail,
)
from tests.factories import make_member, make_org, make_unit, settings
from tests.mailserver import MailServer, body

GUEST = "guest@example.org"


@pytest.fixture
def org(db: Session) -> Organization:
    return make_org(db, "Demo Club")


@pytest.fixture
def inviter(db: Session, org: Organization) -> Member:
    unit = make_unit(db, org, "North")
    return make_member(
        db, org, Role.USER, unit=unit, email="max@example.org", full_name="Max Muster"
    )


@pytest.fixture
def invitee(browser: Browser, live_server: str) -> Iterator[Page]:
    """A second browser, with its own cookies: the person who received the e-mail."""
    context = browser.new_context(base_url=live_server)
    yield context.new_page()
    context.close()


@pytest.fixture
def base_url_in_emails(live_app: Flask) -> str:
    return live_app.config["PORTAL_BASE_URL"]


def invitation_email(smtp: MailServer, org: Organization, inviter: Member) -> EmailMessage:
    return wait_for_mail(smtp, GUEST, f"{inviter.full_name} invited you to join {org.name}")


def test_a_member_invites_a_guest_who_joins_through_the_emailed_link(
    page: Page,
    invitee: Page,
    db: Session,
    org: Organization,
    inviter: Member,
    smtp: MailServer,
    live_server: str,
    base_url_in_emails: str,
):
    settings(db, org, min_inviter_role=Role.HR_LOCAL.value)
    admin = make_member(db, org, Role.ADMIN_TENANT, email="admin@example.org")

    # An admin lets every member invite.
    log_in(page, admin.email)
    set_who_can_invite(page, "USER")
    log_out(page)

    # A plain member invites a guest, with a personal message.
    log_in(page, inviter.email)
    page.get_by_role("link", name="Invite", exact=True).click()
    expect(page.get_by_role("heading", name="Invite people to Demo Club")).to_be_visible()
    dashboard_url = page.url
    mark_page(page)
    message = "Come and play with us on Thursdays!"
    fill_invitation(page, GUEST, full_name="Grace Guest", message=message)
    expect(page.get_by_text(f"{len(message)} / 1000", exact=True)).to_be_visible()
    page.get_by_role("button", name="Send invitation", exact=True).click()

    expect(
        page.get_by_role("status").filter(has_text=f"Invitation sent to {GUEST}.")
    ).to_be_visible()
    expect_listed(page, "Pending", GUEST, count=1)
    expect(page.get_by_label("Email", exact=True)).to_have_value("")
    expect(page.get_by_label("Full name", exact=True)).to_have_value("")
    expect(page.get_by_label("Personal message")).to_have_value("")
    expect(page.get_by_text("0 / 1000", exact=True)).to_be_visible()
    assert page.url == dashboard_url
    expect_not_reloaded(page)

    # The guest gets the e-mail and opens its link in their own browser.
    email = invitation_email(smtp, org, inviter)
    assert message in body(email, "plain")
    invitee.goto(join_path(email, base_url_in_emails))
    expect(invitee).to_have_url(f"{live_server}/join")  # the secret left the address bar
    expect(invitee.get_by_role("heading", name="Join Demo Club")).to_be_visible()
    expect(invitee.get_by_text("Max Muster invited you to join Demo Club.")).to_be_visible()
    expect(invitee.get_by_text(message)).to_be_visible()
    expect(invitee.get_by_label("Email", exact=True)).to_have_value(GUEST)
    expect(invitee.get_by_label("Email", exact=True)).not_to_be_editable()
    expect(invitee.get_by_label("Full name", exact=True)).to_have_value("Grace Guest")

    invitee.get_by_label("Full name", exact=True).fill("Grace Hopper")
    invitee.get_by_label("Password").fill("a long enough password")
    invitee.get_by_role("button", name="Join").click()

    expect(invitee).to_have_url(f"{live_server}/")
    expect(invitee.get_by_text("Welcome to Demo Club, Grace Hopper!")).to_be_visible()
    expect(invitee.get_by_role("heading", name="Welcome, Grace Hopper")).to_be_visible()

    # The inviter's dashboard catches up on its own (it polls every 15 s).
    expect_listed(page, "Accepted", GUEST, count=1, timeout=20_000)
    expect(page.get_by_role("heading", name="Pending (0)")).to_be_visible()
    expect_not_reloaded(page)
    accepted = wait_for_mail(smtp, inviter.email, "Grace Hopper accepted your invitation")
    assert GUEST in body(accepted, "plain")


def test_an_expired_link_explains_itself_and_lets_the_guest_ask_for_a_new_one(
    page: Page,
    invitee: Page,
    db: Session,
    org: Organization,
    inviter: Member,
    smtp: MailServer,
    base_url_in_emails: str,
):
    log_in(page, inviter.email)
    page.goto("/invites")
    send_invitation(page, GUEST)
    expect_listed(page, "Pending", GUEST, count=1)
    link = join_path(invitation_email(smtp, org, inviter), base_url_in_emails)

    invitation = db.exec(select(Invitation).where(Invitation.email == GUEST)).one()
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.add(invitation)
    db.commit()

    response = invitee.goto(link)
    assert response is not None and response.status == 410
    expect(invitee.get_by_role("heading", name="This invitation has expired")).to_be_visible()
    expired_on = invitation.expires_at.strftime("%d %B %Y")
    expect(
        invitee.get_by_text(
            f"This invitation expired on {expired_on}. Ask Max Muster to send a new one."
        )
    ).to_be_visible()

    invitee.get_by_role("button", name="Request a new invitation").click()
    expect(invitee.get_by_role("heading", name="Request sent")).to_be_visible()
    expect(invitee.get_by_text("We've let Max Muster know")).to_be_visible()

    request = wait_for_mail(
        smtp, inviter.email, f"{GUEST} would like a new invitation to Demo Club"
    )
    assert "asked for a new one" in body(request, "plain")


def test_a_revoked_invitation_link_says_it_was_withdrawn(
    page: Page,
    invitee: Page,
    org: Organization,
    inviter: Member,
    smtp: MailServer,
    base_url_in_emails: str,
):
    log_in(page, inviter.email)
    page.goto("/invites")
    send_invitation(page, GUEST)
    expect_listed(page, "Pending", GUEST, count=1)
    link = join_path(invitation_email(smtp, org, inviter), base_url_in_emails)

    questions: list[str] = []

    def answer_yes(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer_yes)
    row_button(page, "Pending", GUEST, "Revoke").click()

    expect(page.get_by_text(f"The invitation to {GUEST} was revoked.")).to_be_visible()
    expect_listed(page, "Revoked", GUEST, count=1)
    expect(page.get_by_role("heading", name="Pending (0)")).to_be_visible()
    assert questions == [f"Revoke the invitation to {GUEST}? The link will stop working."]

    response = invitee.goto(link)
    assert response is not None and response.status == 410
    expect(invitee.get_by_role("heading", name="This invitation was withdrawn")).to_be_visible()
    expect(invitee.get_by_text("withdrawn by the organisation")).to_be_visible()
    expect(invitee.get_by_role("button", name="Join")).to_have_count(0)


def test_inviting_works_without_javascript(
    browser: Browser, live_server: str, inviter: Member, smtp: MailServer, org: Organization
):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, inviter.email)
        page.goto("/invites")
        fill_invitation(page, GUEST, full_name="Grace Guest")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Send invitation", exact=True).click()

        # Post/redirect/get: a full page, which reloading won't send again.
        response = navigation.value
        assert response is not None and response.request.method == "GET"
        assert response.request.redirected_from is not None
        assert response.request.redirected_from.method == "POST"
        expect(page).to_have_url(f"{live_server}/invites")
        expect(page.get_by_role("heading", name="Invite people to Demo Club")).to_be_visible()
        expect(page.get_by_text(f"Invitation sent to {GUEST}.")).to_be_visible()
        expect_listed(page, "Pending", GUEST, count=1)
        invitation_email(smtp, org, inviter)
    finally:
        context.close()


def test_an_invalid_address_is_explained_next_to_the_field_without_a_reload(
    page: Page, inviter: Member
):
    log_in(page, inviter.email)
    page.goto("/invites")
    mark_page(page)

    send_invitation(page, "not-an-email", full_name="Grace Guest")

    email_field = page.get_by_label("Email", exact=True)
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(email_field).to_have_accessible_description(
        re.compile(r"^not-an-email is not a valid e-mail address")
    )
    expect(email_field).to_have_value("not-an-email")  # kept, to correct
    expect(page.get_by_label("Full name", exact=True)).to_have_value("Grace Guest")
    expect(page.get_by_role("heading", name="Pending (0)")).to_be_visible()
    expect_not_reloaded(page)


def test_inviting_an_address_with_a_pending_invitation_offers_to_resend_it(
    page: Page, db: Session, inviter: Member
):
    invites.send_invitation(db, inviter, email=GUEST, now=utcnow() - timedelta(hours=1))
    db.commit()
    log_in(page, inviter.email)
    page.goto("/invites")
    expect_listed(page, "Pending", GUEST, count=1)
    mark_page(page)

    send_invitation(page, GUEST)

    expect(page.get_by_label("Email", exact=True)).to_have_accessible_description(
        re.compile(rf"^{re.escape(GUEST)} already has a pending invitation")
    )
    resend = page.get_by_role("button", name="Resend the pending invitation")
    expect(resend).to_be_visible()
    resend.click()
    expect(
        page.get_by_text(f"Invitation resent to {GUEST}. The previous link no longer works.")
    ).to_be_visible()
    expect_listed(page, "Pending", GUEST, count=1)
    expect_not_reloaded(page)


def test_several_addresses_are_sent_at_once_and_each_is_answered(
    page: Page, db: Session, inviter: Member
):
    invites.send_invitation(db, inviter, email=GUEST, now=utcnow() - timedelta(hours=1))
    db.commit()
    log_in(page, inviter.email)
    page.goto("/invites")
    mark_page(page)

    send_invitation(page, f"ada@example.org, bob@example.org\n{GUEST} not-an-email")

    answers = page.get_by_role("list", name="What became of each address")
    expect(answers.get_by_role("listitem")).to_have_count(4)
    expect(answers).to_contain_text("Sent to ada@example.org.")
    expect(answers).to_contain_text("Sent to bob@example.org.")
    expect(answers).to_contain_text(f"{GUEST} already has a pending invitation")
    expect(answers).to_contain_text("not-an-email is not a valid e-mail address")
    expect(page.get_by_text("2 of 4 invitations sent.")).to_be_visible()
    # The refused ones stay in the field, to be corrected.
    expect(page.get_by_label("Email", exact=True)).to_have_value(f"{GUEST}\nnot-an-email")
    expect_listed(page, "Pending", "ada@example.org", count=3)
    expect_listed(page, "Pending", "bob@example.org", count=3)

    answers.get_by_role("button", name=f"Resend to {GUEST}").click()
    expect(
        page.get_by_text(f"Invitation resent to {GUEST}. The previous link no longer works.")
    ).to_be_visible()
    expect_not_reloaded(page)
