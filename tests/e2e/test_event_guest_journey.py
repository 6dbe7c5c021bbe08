"""An organiser creates an event, a member invites a guest, and the guest accepts from the
link in their e-mail, in a browser of their own (no account), then joins the organisation
as the member's referral; the organiser sees who brought whom. Under adhesion the guest
answers the registration form and awaits approval."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from portal.clock import utcnow
from portal.events import service as events
from portal.models import MembershipSettings, RegistrationQuestion
from portal.roles import Role
from tests.e2e.helpers import log_in, log_out, wait_for_mail
from tests.factories import make_member, make_org
from tests.mailserver import MailServer, body

GUEST = "gina@example.org"
GUEST_LINK = re.compile(r"\S+/guest\?token=[\w-]+")


@pytest.fixture
def guest_page(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server)
    yield context.new_page()
    context.close()


def test_an_organiser_creates_an_event_a_member_invites_a_guest_who_accepts(
    page: Page, guest_page: Page, db: Session, smtp: MailServer, live_app, live_server: str
):
    org = make_org(db, "Event Club")
    organiser = make_member(
        db, org, Role.HR_TENANT, email="olga@example.org", full_name="Olga Organiser"
    )
    member = make_member(db, org, Role.USER, email="max@example.org", full_name="Max Member")
    day = (utcnow() + timedelta(days=14)).strftime("%Y-%m-%d")

    log_in(page, organiser.email)
    page.get_by_role("link", name="Events", exact=True).click()
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title", exact=True).fill("Summer party")
    page.get_by_label("Starts").fill(f"{day}T18:00")
    page.get_by_label("Ends").fill(f"{day}T22:00")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Place", exact=True).fill("Town hall")
    page.get_by_label("Capacity (places for guests)").fill("20")
    page.get_by_label("Guests each member may invite").fill("2")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_text("Event “Summer party” created.")).to_be_visible()
    log_out(page)

    log_in(page, member.email)
    page.get_by_role("link", name="Events", exact=True).click()
    page.get_by_role("link", name="Summer party").click()
    expect(page.get_by_text("You can invite 2 more guests.")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(GUEST)
    page.get_by_label("Full name", exact=True).fill("Gina Guest")
    page.get_by_label("Message", exact=True).fill("Come along!")
    page.get_by_role("button", name="Invite a guest").click()
    expect(page.get_by_text(f"Invitation sent to {GUEST}.")).to_be_visible()
    expect(page.locator("#my-guests")).to_contain_text("Gina Guest")
    log_out(page)

    email = wait_for_mail(smtp, GUEST, "Max Member invites you to Summer party")
    calendars = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == 1
    (link,) = GUEST_LINK.findall(body(email, "plain"))
    base_url_in_links = live_app.config["PORTAL_BASE_URL"]
    guest_page.goto(link.removeprefix(base_url_in_links))
    expect(guest_page).to_have_url(f"{live_server}/guest")  # the token left the address bar
    expect(guest_page.get_by_role("heading", name="Summer party")).to_be_visible()
    expect(guest_page.get_by_label("Email", exact=True)).to_have_value(GUEST)
    guest_page.get_by_role("button", name="Accept").click()
    expect(guest_page.get_by_text("Thank you: you have a place.")).to_be_visible()

    # Later the guest joins the organisation: a referral of the member who brought them.
    join = guest_page.get_by_role("region", name="Join Event Club")
    join.get_by_label("Password").fill("a long enough password")
    join.get_by_role("button", name="Join Event Club").click()
    expect(
        guest_page.get_by_text("Welcome to Event Club, Gina Guest! You joined at Max Member's")
    ).to_be_visible()

    log_in(page, organiser.email)
    page.get_by_role("link", name="Events", exact=True).click()
    page.get_by_role("link", name="Summer party").click()
    row = page.locator("#guest-list").get_by_role("row").filter(has_text=GUEST)
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text("Max Member")


def test_under_adhesion_a_guest_answers_the_registration_form_and_awaits_approval(
    guest_page: Page, db: Session, live_server: str
):
    org = make_org(db, "Approval Club")
    db.add(MembershipSettings(organization_id=org.id, approval_required=True))
    db.add(
        RegistrationQuestion(
            organization_id=org.id, label="Your boat", required=True, created_at=utcnow()
        )
    )
    db.commit()
    organiser = make_member(db, org, Role.HR_TENANT, full_name="Olga Organiser")
    host = make_member(db, org, Role.USER, full_name="Max Member")
    event = events.create_event(
        db,
        organiser,
        events.EventInput(
            title="Open day",
            starts_local=(utcnow() + timedelta(days=14)).strftime("%Y-%m-%dT18:00"),
            ends_local=(utcnow() + timedelta(days=14)).strftime("%Y-%m-%dT22:00"),
            timezone="Europe/Berlin",
            place="Boat house",
            capacity=5,
            guests_per_member=2,
        ),
        utcnow(),
    )
    _guest, token = events.invite_guest(
        db, host, event, email=GUEST, full_name="Gina Guest", message="", now=utcnow()
    )
    db.commit()

    guest_page.goto(f"/guest?token={token}")
    guest_page.get_by_role("button", name="Accept").click()
    join = guest_page.get_by_role("region", name="Join Approval Club")
    expect(join.get_by_role("group", name="A few questions from Approval Club")).to_be_visible()
    join.get_by_label("Password").fill("a long enough password")
    join.get_by_role("button", name="Join Approval Club").click()
    expect(guest_page.get_by_text("Answer “Your boat”.")).to_be_visible()  # kept beside it
    join = guest_page.get_by_role("region", name="Join Approval Club")
    join.get_by_label("Your boat").fill("Swift")
    join.get_by_label("Why do you want to join? (optional)").fill("I sail.")
    join.get_by_label("Password").fill("a long enough password")
    join.get_by_role("button", name="Join Approval Club").click()
    expect(guest_page.get_by_text("Thank you! Your application is being reviewed.")).to_be_visible()
