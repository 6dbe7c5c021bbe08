"""Pages the journeys don't pass through, visited so the axe check (tests/e2e/axe.py) sees them."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from portal.clock import utcnow
from portal.events import service as events
from portal.rewards import service as rewards
from portal.roles import Role
from tests.e2e.helpers import log_in
from tests.factories import make_member, make_org


def test_login_with_a_wrong_password(page: Page):
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_an_unknown_join_link(page: Page):
    response = page.goto("/join?invite_id=no-such-invitation")
    assert response is not None and response.status >= 400


def test_the_not_found_page(page: Page):
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404


def test_the_api_docs(page: Page):
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200


SETTINGS_SCREENS = [
    ("invitations", "Invitation settings"),
    ("share-links", "Share link settings"),
    ("membership", "Membership settings"),
    ("rewards", "Referral rewards"),
    ("email-templates", "E-mail templates"),
    ("email-templates/new", "New e-mail template"),
    ("leaderboard", "Leaderboard"),
    ("api-tokens", "API tokens"),
    ("webhooks", "Webhooks"),
    ("delivery", "Delivery"),
    ("audit", "Audit log"),
]


def test_every_settings_screen_as_an_organisation_admin(page: Page, db):
    org = make_org(db, "Axe Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="axe-admin@example.org")
    log_in(page, admin.email)
    for path, _name in SETTINGS_SCREENS:
        response = page.goto(f"/admin/settings/{path}")
        assert response is not None and response.status == 200, path
        # Each screen is checked by the axe fixture on load; wait until it has settled.
        page.wait_for_load_state("networkidle")


def test_the_reward_pages_with_errors_shown(page: Page, db):
    """A code pool's page and the rules form as they look with a refusal next to a field."""
    org = make_org(db, "Axe Rewards Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="axe-rewards@example.org")
    benefit = rewards.create_benefit(
        db, admin, name="Voucher", description="", codes="", now=utcnow()
    )
    db.commit()
    log_in(page, admin.email)
    page.goto(f"/admin/settings/rewards/benefits/{benefit.public_id}/codes")
    page.get_by_label("Codes to add, one a line").fill("A\n\nB")
    page.get_by_role("button", name="Add codes").click()
    expect(page.get_by_text("Line 2 is blank.", exact=False)).to_be_visible()
    page.goto("/admin/settings/rewards")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Give the rule a name", exact=False)).to_be_visible()
    page.goto("/rewards")
    expect(page.get_by_role("heading", name="My rewards", exact=True)).to_be_visible()


def test_the_application_pages_with_errors_shown(page: Page, db):
    """The registration form with a refused answer, the Membership screen's question form
    with a refusal, the edit page, and /register with none open."""
    from portal.models import MembershipSettings, RegistrationQuestion

    org = make_org(db, "Axe Apply Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="axe-apply@example.org")
    db.add(MembershipSettings(organization_id=org.id, open_registration=True))
    db.add(
        RegistrationQuestion(
            organization_id=org.id,
            label="Level",
            kind="choice",
            options=["Novice", "Skipper"],
            required=True,
            created_at=utcnow(),
        )
    )
    db.commit()
    page.goto(f"/register/{org.slug}")
    page.get_by_label("Full name", exact=True).fill("Axe Applicant")
    page.get_by_label("Email", exact=True).fill("axe-applicant@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Answer “Level”.")).to_be_visible()
    log_in(page, admin.email)
    page.goto("/admin/settings/membership")
    page.get_by_label("Kind of answer").select_option("choice")
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_text("Write the question.")).to_be_visible()
    page.goto("/admin/settings/membership")
    page.get_by_role("link", name="Edit “Level”").click()
    expect(page.get_by_role("heading", name="Edit a registration question")).to_be_visible()
    page.goto("/applications?status=approved")
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()


def test_the_event_pages_with_errors_shown_and_a_full_event(page: Page, db):
    """The event form with refusals, the guest page of a full event, an unknown guest link."""
    org = make_org(db, "Axe Events Club")
    admin = make_member(db, org, Role.ADMIN_TENANT, email="axe-events@example.org")
    later = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
    event = events.create_event(
        db,
        admin,
        events.EventInput(
            "Full house",
            f"{later}T18:00",
            f"{later}T22:00",
            "Europe/Berlin",
            place="Town hall",
            capacity=1,
            guests_per_member=2,
        ),
        utcnow(),
    )
    first, _ = events.invite_guest(
        db, admin, event, email="first@example.org", full_name="First", message="", now=utcnow()
    )
    _late, late_token = events.invite_guest(
        db, admin, event, email="late@example.org", full_name="Late", message="", now=utcnow()
    )
    db.commit()
    events.accept(
        db, first.token_digest, email="first@example.org", full_name="First", now=utcnow()
    )
    db.commit()
    log_in(page, admin.email)
    page.goto("/events/new")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_text("A title is required.")).to_be_visible()
    page.goto(f"/events/{event.public_id}")
    expect(page.get_by_role("heading", name="Guest list")).to_be_visible()
    page.goto("/events")
    expect(page.get_by_role("heading", name="Upcoming events")).to_be_visible()

    page.context.clear_cookies()
    page.goto(f"/guest?token={late_token}")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("This event is full.", exact=False).first).to_be_visible()
    expect(page.get_by_role("heading", name="Join Axe Events Club")).to_be_visible()
    response = page.goto("/guest?token=no-such-token")
    assert response is not None and response.status == 404
