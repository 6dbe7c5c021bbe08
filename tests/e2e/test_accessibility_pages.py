"""Pages the journeys don't pass through, visited so the axe check (tests/e2e/axe.py) sees them."""

from __future__ import annotations

from playwright.sync_api import Page, expect


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
