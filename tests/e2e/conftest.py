"""Browser tests: the real app served on a free loopback port, driven in Debian's Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext
from sqlmodel import Session
from werkzeug.serving import make_server

from portal import create_app
from portal.delivery.worker import Worker
from tests.conftest import app_config
from tests.e2e.axe import AxeChecker
from tests.mailserver import MailServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
_AXE = pytest.StashKey[AxeChecker]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Once the test body has passed, the pages it left open are checked by axe too, and
    the test fails on any serious or critical violation seen on the way."""
    result = yield
    checker = item.stash.get(_AXE, None)
    if checker is not None:
        checker.finish()
        checker.assert_clean()
    return result


@pytest.fixture(autouse=True)
def axe(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, live_server: str
) -> AxeChecker:
    """axe-core watches every browser context this test opens (the `page` fixture's, and
    any made with `browser.new_context`); see tests/e2e/axe.py."""
    checker = AxeChecker([live_server])
    new_context = Browser.new_context

    def watched_context(self: Browser, *args: object, **kwargs: object) -> BrowserContext:
        context = new_context(self, *args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("java_script_enabled") is not False:  # axe is a script: it can't run
            checker.watch(context)  # there, and evaluating in such a page never returns
        return context

    monkeypatch.setattr(Browser, "new_context", watched_context)
    request.node.stash[_AXE] = checker
    return checker


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_app(database_url: str, _smtp_server: MailServer) -> Iterator[Flask]:
    """The portal as `make run` serves it, sending mail to the tests' SMTP server, with
    limits high enough for many logins from one address."""
    app = create_app(
        app_config(
            database_url,
            TESTING=False,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=_smtp_server.port,
            LOGIN_LIMIT_PER_IP="1000 per minute",
            JOIN_LIMIT_PER_IP="1000 per minute",
        )
    )
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture(autouse=True)
def live_worker(live_app: Flask, smtp: MailServer) -> Iterator[Worker]:
    """The outbox worker, running in a thread for this test only (so it never touches the
    rows of tests outside e2e/, which share the database)."""
    stop = threading.Event()
    worker = Worker(live_app, name="e2e", stop=stop)
    thread = threading.Thread(
        target=worker.run_forever,
        kwargs={"idle_min": 0.1, "idle_max": 0.2},
        daemon=True,
    )
    thread.start()
    yield worker
    stop.set()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture
def db(live_app: Flask) -> Iterator[Session]:
    with Session(live_app.extensions["portal.engine"], expire_on_commit=False) as session:
        yield session
