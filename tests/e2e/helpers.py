"""Things a person does in the browser, named as they'd say them."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

from playwright.sync_api import Locator, Page, expect

from tests.factories import PASSWORD
from tests.mailserver import MailServer, body


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def set_who_can_invite(page: Page, level: str) -> None:
    """As an organisation admin: Settings → Invitations → "Who can send invitations"."""
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Who can send invitations").select_option(level)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Invitation settings saved.")).to_be_visible()


def fill_invitation(page: Page, email: str, full_name: str = "", message: str = "") -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Full name", exact=True).fill(full_name)
    page.get_by_label("Personal message").fill(message)


def send_invitation(page: Page, email: str, full_name: str = "", message: str = "") -> None:
    fill_invitation(page, email, full_name, message)
    page.get_by_role("button", name="Send invitation", exact=True).click()


def invitation_list(page: Page, title: str) -> Locator:
    """One of the dashboard's lists: "Pending", "Accepted", "Expired" or "Revoked"."""
    return page.locator(f"#list-{title.lower()}")


def expect_listed(page: Page, title: str, email: str, count: int, timeout: float = 5_000) -> None:
    """`email` is a row of the list `title`, whose heading shows `count`: the list is
    opened first when another one is open (the dashboard shows one list's rows at a time),
    and opening it leaves the keyboard focus on its heading."""
    section = invitation_list(page, title)
    expect(section.get_by_role("heading")).to_have_text(f"{title} ({count})", timeout=timeout)
    show = section.get_by_role("link", name=f"Show {title.lower()} invitations")
    if show.count():
        show.click()
        expect(section.get_by_role("heading")).to_be_focused()
    expect(section.get_by_role("cell", name=email, exact=True)).to_be_visible()


def row_button(page: Page, title: str, email: str, action: str) -> Locator:
    """A row action ("Resend", "Extend", "Revoke") for `email` in the list `title`."""
    row = invitation_list(page, title).get_by_role("row").filter(has_text=email)
    return row.get_by_role("button", name=action)


def mark_page(page: Page) -> None:
    """Leave a mark in the page's JavaScript state: a full page load wipes it."""
    page.evaluate("window.__notReloaded = true")


def expect_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def wait_for_mail(smtp: MailServer, to: str, subject: str, timeout: float = 10.0) -> EmailMessage:
    """The e-mail to `to` whose subject is `subject`, once the outbox worker has sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(smtp.messages):
            if message["To"] == to and message["Subject"] == subject:
                return message
        time.sleep(0.05)
    seen = [(m["To"], m["Subject"]) for m in smtp.messages]
    raise AssertionError(f"no e-mail to {to} with subject {subject!r}; got {seen}")


JOIN_LINK = re.compile(r"\S+/join\?invite_id=[\w-]+")


def join_path(message: EmailMessage, base_url: str) -> str:
    """The join link in an invitation's plain-text body, as a path on the tests' server
    (the e-mail links to the configured PORTAL_BASE_URL)."""
    links = JOIN_LINK.findall(body(message, "plain"))
    assert len(links) == 1, f"expected one join link, found {links}"
    assert links[0].startswith(f"{base_url}/join?invite_id="), links[0]
    return links[0].removeprefix(base_url)
