"""The accessibility check itself: it sees real violations, on load and after an htmx swap,
and says where they are. (The portal has no broken page, so these tests serve their own.)"""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, Route, expect

from tests.e2e.axe import AxeChecker, Violation

BROKEN = """<!doctype html>
<html lang="en"><head><title>Broken on purpose</title></head>
<body><main>
  <h1>Broken on purpose</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="40" height="40">
  <form><input type="text" name="nickname"></form>
</main></body></html>"""

SWAPPING = """<!doctype html>
<html lang="en"><head><title>Fine until swapped</title>
<script src="/static/vendor/htmx.min.js"></script></head>
<body><main>
  <h1>Fine until swapped</h1>
  <button hx-get="/broken-fragment" hx-target="#slot">Show the picture</button>
  <div id="slot"></div>
</main></body></html>"""


def serve(page: Page, base: str, pages: dict[str, str]) -> None:
    """Answer these paths of the tests' server with this HTML, in this page only."""

    def fulfil(route: Route) -> None:
        path = route.request.url.removeprefix(base)
        route.fulfill(content_type="text/html", body=pages[path])

    for path in pages:
        page.route(f"{base}{path}", fulfil)


def wait_until(page: Page, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)  # lets Playwright deliver the page's reports


def seen(page: Page, axe: AxeChecker, rule: str) -> list[Violation]:
    """The violations of `rule` the page's own runs of axe have reported so far."""
    wait_until(page, lambda: any(v.rule == rule for v in axe.violations()))
    return [v for v in axe.violations() if v.rule == rule]


def test_a_page_with_an_image_without_alt_and_an_unlabelled_field_fails_the_check(
    page: Page, axe: AxeChecker, live_server: str
):
    serve(page, live_server, {"/broken-on-purpose": BROKEN})
    page.goto("/broken-on-purpose")
    expect(page.get_by_role("heading", name="Broken on purpose")).to_be_visible()

    # Seen by the run that follows the page's load, before the test asks for anything.
    [image] = seen(page, axe, "image-alt")
    assert (image.impact, image.target, image.url) == (
        "critical",
        "img",
        f"{live_server}/broken-on-purpose",
    )

    # And by a run on demand, which the end of every test does on the pages left open.
    found = {(v.rule, v.impact, v.target) for v in axe.check(page)}
    assert {("image-alt", "critical", "img"), ("label", "critical", "input")} <= found, found

    report = axe.report()
    assert "image-alt (critical): Images must have alternative text" in report
    assert "label (critical): Form elements must have labels" in report
    assert f"page:     {live_server}/broken-on-purpose" in report
    assert "element:  input" in report
    assert "https://dequeuniversity.com/rules/axe/4.14/label" in report
    try:
        axe.assert_clean()
    except BaseException as failure:  # pytest.fail raises an outcome, not an Exception
        assert str(failure) == report
    else:
        raise AssertionError("the check let an image without alt pass")

    axe.forget()  # made on purpose; the page this test ends on must pass
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_violation_swapped_in_by_htmx_is_seen(page: Page, axe: AxeChecker, live_server: str):
    serve(
        page,
        live_server,
        {
            "/fine-until-swapped": SWAPPING,
            "/broken-fragment": '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
        },
    )
    page.goto("/fine-until-swapped")
    wait_until(page, lambda: axe.runs == 1)  # the page as loaded passed
    assert axe.violations() == []
    page.get_by_role("button", name="Show the picture").click()
    expect(page.locator("#slot img")).to_have_count(1)

    [image] = seen(page, axe, "image-alt")
    assert image.target == "img"
    assert image.url == f"{live_server}/fine-until-swapped"

    axe.forget()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
