"""An admin words the invitation e-mail and watches the preview follow as they type."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import Session

from portal.clock import utcnow
from portal.email_templates import service as templates
from portal.roles import Role
from tests.e2e.helpers import expect_not_reloaded, log_in, mark_page
from tests.factories import make_member, make_org


def test_an_admin_edits_a_template_and_the_preview_follows_without_a_reload(
    page: Page, db: Session
):
    org = make_org(db, "Demo Club")
    admin = make_member(
        db, org, Role.ADMIN_TENANT, email="admin@example.org", full_name="Ada Admin"
    )
    templates.create(
        db,
        admin,
        templates.TemplateInput(
            "Warm welcome", "Hello {{ invitee_name }}", "Dear {{ invitee_name }},\n\nWelcome!"
        ),
        utcnow(),
    )
    db.commit()

    log_in(page, admin.email)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="E-mail templates"
    ).click()
    page.get_by_role("link", name="Edit Warm welcome").click()
    subject = page.locator("#preview-subject")
    expect(subject).to_have_text("Hello Alex Example")
    mail_body = page.frame_locator('iframe[title="HTML preview"]')
    expect(mail_body.get_by_text("Dear Alex Example,")).to_be_visible()
    mark_page(page)

    page.get_by_label("Subject").fill("{{ inviter_name }} saved you a seat, {{ invitee_name }}")
    expect(subject).to_have_text("Ada Admin saved you a seat, Alex Example")
    page.get_by_label("Message").fill("Ahoy {{ invitee_name | upper }}!\n\n{{ personal_message }}")
    expect(mail_body.get_by_text("Ahoy ALEX EXAMPLE!")).to_be_visible()
    expect(mail_body.get_by_role("link", name="Join Demo Club")).to_be_visible()
    expect(page.locator("#preview-text")).to_contain_text("Ahoy ALEX EXAMPLE!")

    # A mistake replaces the preview with what to fix, and fixing it brings the preview back.
    page.get_by_label("Message").press_sequentially(" {{ config }}")
    problems = page.locator("#preview-problems")
    expect(problems).to_contain_text("Message: Line 3: {{ config }} is not a placeholder.")
    expect(page.locator('iframe[title="HTML preview"]')).to_have_count(0)
    page.get_by_label("Message").fill("Ahoy {{ invitee_name }}, welcome aboard.")
    expect(mail_body.get_by_text("Ahoy Alex Example, welcome aboard.")).to_be_visible()
    expect_not_reloaded(page)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Template “Warm welcome” saved.")).to_be_visible()
    expect(
        page.get_by_role("cell", name="{{ inviter_name }} saved you a seat, {{ invitee_name }}")
    ).to_be_visible()
