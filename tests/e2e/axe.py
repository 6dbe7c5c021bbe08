"""axe-core in every page the e2e tests visit.

Each browser context a test creates gets axe-core as an init script. In the top frame of
every http(s) page it runs axe once the page has loaded and again after each htmx swap
(debounced), and hands the violations to Python through a binding. When the test body
ends, axe runs once more on every open page's final state. A test fails if any page of
the tests' own servers had a violation of impact "serious" or "critical".

A run cut short by a navigation never reports (its page is gone), so it is ignored;
the page the browser went to is checked in its own right. Sandboxed e-mail previews
(iframes without scripts) can't be entered: axe checks the frame element, not the e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

# Runs before any of the page's own scripts, in every frame; does its work in top frames.
_BOOT = """
(() => {
  if (window !== window.top || !/^https?:$/.test(location.protocol)) return;
  %(axe)s
  const options = { resultTypes: ["violations"], iframes: false };
  const shrink = (result) => ({
    url: result.url,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary || "" })),
    })),
  });
  const runAxe = () => axe.run(document, options).then(shrink, (error) => (
    { url: location.href, error: String((error && error.message) || error) }
  ));
  // One run at a time (axe refuses to overlap), in the order they were asked for.
  let queue = Promise.resolve();
  const enqueue = (work) => (queue = queue.then(work, work));
  let timer = 0;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => enqueue(() => runAxe().then((r) => window.%(binding)s(r))), %(delay)d);
  };
  window.addEventListener("load", soon);
  document.addEventListener("htmx:afterSettle", soon);
  Object.defineProperty(window, "__axeCheckNow", { value: () => enqueue(runAxe) });
})();
"""
_BINDING = "__axeReport"
_DEBOUNCE_MS = 150


@cache
def _init_script() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `make assets` (npm ci) first", pytrace=False)
    return _BOOT % {"axe": AXE_JS.read_text(), "binding": _BINDING, "delay": _DEBOUNCE_MS}


@dataclass(frozen=True)
class Violation:
    """One element breaking one axe rule, on one page."""

    rule: str
    impact: str
    help: str
    help_url: str
    url: str
    target: str
    summary: str


def _selector(target: Iterable[Any]) -> str:
    # axe names an element by a list of selectors: one per frame / shadow root.
    return " >>> ".join(part if isinstance(part, str) else " >> ".join(part) for part in target)


class AxeChecker:
    """Collects the serious and critical axe violations of one test's pages."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = {self._origin(url) for url in origins}
        self._found: dict[tuple[str, str, str], Violation] = {}
        self._errors: list[str] = []
        self._contexts: list[BrowserContext] = []
        self._done = False
        self.runs = 0  # reports received from the tests' own pages

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def also_check(self, url: str) -> None:
        """Check the pages of another of the tests' own servers too."""
        self.origins.add(self._origin(url))

    def ours(self, url: str) -> bool:
        return url.startswith(("http://", "https://")) and self._origin(url) in self.origins

    def watch(self, context: BrowserContext) -> None:
        context.expose_binding(_BINDING, lambda _source, report: self._record(report))
        context.add_init_script(script=_init_script())
        self._contexts.append(context)
        close = context.close

        def check_then_close(*args: Any, **kwargs: Any) -> None:
            if not self._done:  # closed inside the test: its pages' last state counts too
                self._check_pages(context)
            close(*args, **kwargs)

        context.close = check_then_close  # type: ignore[method-assign]

    def _record(self, report: dict[str, Any] | None) -> list[Violation]:
        if not report or not self.ours(report.get("url", "")):
            return []
        self.runs += 1
        url = urldefrag(report["url"]).url
        if "error" in report:
            self._errors.append(f"axe-core could not check {url}: {report['error']}")
            return []
        found = []
        for rule in report["violations"]:
            if rule["impact"] not in FAILING_IMPACTS:
                continue
            for node in rule["nodes"]:
                violation = Violation(
                    rule=rule["id"],
                    impact=rule["impact"],
                    help=rule["help"],
                    help_url=rule["helpUrl"].split("?")[0],
                    url=url,
                    target=_selector(node["target"]),
                    summary=" ".join(node["summary"].split()),
                )
                self._found.setdefault((url, violation.rule, violation.target), violation)
                found.append(violation)
        return found

    def check(self, page: Page) -> list[Violation]:
        """Run axe on the page as it is now; the serious and critical violations found."""
        for _attempt in range(3):
            if page.is_closed() or not self.ours(page.url):
                return []
            try:
                report = page.evaluate("() => window.__axeCheckNow ? window.__axeCheckNow() : null")
            except PlaywrightError as error:
                if page.is_closed() or "closed" in error.message:
                    return []
                if "context was destroyed" not in error.message:
                    raise
                # The page navigated while axe ran: check where it went, once it's there.
                page.wait_for_load_state()
                continue
            return self._record(report)
        return []

    def _check_pages(self, context: BrowserContext) -> None:
        try:
            pages = list(context.pages)
        except PlaywrightError:
            return
        for page in pages:
            self.check(page)

    def finish(self) -> None:
        """The end of the test body: check every open page's final state."""
        for context in self._contexts:
            self._check_pages(context)
        self._done = True

    def violations(self) -> list[Violation]:
        return list(self._found.values())

    def forget(self) -> None:
        """Drop what was found so far (for a test that made violations on purpose)."""
        self._found.clear()
        self._errors.clear()

    def report(self) -> str:
        by_page_and_rule: dict[tuple[str, str], list[Violation]] = {}
        for violation in self._found.values():
            by_page_and_rule.setdefault((violation.url, violation.rule), []).append(violation)
        lines = [
            f"axe-core found {len(self._found)} serious or critical accessibility "
            f"violation(s) on the pages this test visited:"
        ]
        for (url, _rule), nodes in by_page_and_rule.items():
            first = nodes[0]
            lines += [
                "",
                f"{first.rule} ({first.impact}): {first.help}",
                f"  page:     {url}",
                *(f"  element:  {node.target}" for node in nodes),
                f"  why:      {first.summary}",
                f"  rule:     {first.help_url}",
            ]
        lines += self._errors
        return "\n".join(lines)

    def assert_clean(self) -> None:
        if self._found or self._errors:
            pytest.fail(self.report(), pytrace=False)
