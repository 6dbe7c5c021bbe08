"""An admin invites a list of people from a CSV file: uploads it, reads the preview's
counts and problem rows, sends, watches the progress bar fill, then downloads the rows
that were not sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from portal.delivery.worker import Worker
from portal.models import Invitation, Member, Organization
from portal.roles import Role
from tests.e2e.helpers import log_in
from tests.factories import make_member, make_org

PEOPLE = 60


@pytest.fixture
def org(db: Session) -> Organization:
    return make_org(db, "Demo Club")


@pytest.fixture
def admin(db: Session, org: Organization) -> Member:
    return make_member(db, org, Role.ADMIN_TENANT, email="ada@example.org", full_name="Ada Admin")


def csv_file() -> bytes:
    rows = "".join(f"guest{n}@example.org;Guest {n};See you soon\r\n" for n in range(PEOPLE))
    bad = (
        "not-an-address;Nobody;\r\nguest1@example.org;Guest One Again;\r\nmeg@example.org;Meg;\r\n"
    )
    return ("\ufeffE-mail;Full name;Message\r\n" + rows + bad).encode()


def test_an_admin_invites_a_csv_file_and_watches_it_being_sent(
    page: Page, db: Session, org: Organization, admin: Member, live_worker: Worker
):
    make_member(db, org, email="meg@example.org")
    live_worker.senders["bulk"].size = 5  # small chunks, so the bar moves in steps
    log_in(page, admin.email)
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_role("link", name="Invite from a CSV file").click()
    expect(page.get_by_role("heading", name="Invite from a CSV file")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": csv_file()}]
    )
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", name="Invite from a CSV file: members.csv")).to_be_visible()
    expect(page.locator("#count-total")).to_have_text("63")
    expect(page.locator("#count-valid")).to_have_text(str(PEOPLE))
    expect(page.locator("#count-invalid")).to_have_text("1")
    expect(page.locator("#count-duplicate")).to_have_text("1")
    expect(page.locator("#count-member")).to_have_text("1")
    problems = page.locator("#problems")
    expect(problems.get_by_role("row").filter(has_text="not-an-address")).to_contain_text(
        "is not a valid e-mail address"
    )
    expect(problems.get_by_role("row").filter(has_text="meg@example.org")).to_contain_text(
        "already has an account"
    )

    # 60 is past the default daily limit of 50: as an admin, Ada raises hers for this file.
    expect(page.locator("#limit-notice")).to_contain_text("Your daily limit is 50 invitations")
    page.get_by_label("Raise my daily limit for this file").check()
    page.get_by_role("button", name=f"Send {PEOPLE} invitations").click()
    bar = page.get_by_label("Invitations handled")
    expect(bar).to_have_attribute("max", str(PEOPLE))
    expect(bar).to_have_attribute("value", str(PEOPLE), timeout=30_000)
    expect(page.get_by_role("status").filter(has_text="Finished")).to_have_text(
        f"Finished: {PEOPLE} sent, 0 refused."
    )
    expect(page.get_by_role("heading", name="Sent", exact=True)).to_be_visible()
    assert db.exec(select(func.count()).select_from(Invitation)).one() == PEOPLE

    # The progress survives a reload (it is the job's page), then the rows not sent.
    page.reload()
    expect(page.get_by_label("Invitations handled")).to_have_attribute("value", str(PEOPLE))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the rows not sent (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "members-not-sent.csv"
    with open(download.path(), encoding="utf-8") as saved:
        lines = saved.read().splitlines()
    assert lines[0] == "line,email,name,message,reason"
    assert [line.split(",")[1] for line in lines[1:]] == [
        "not-an-address",
        "guest1@example.org",
        "meg@example.org",
    ]
