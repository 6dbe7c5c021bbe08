"""Browser tests: the real app served on a free loopback port, driven in Debian's Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlmodel import Session
from werkzeug.serving import make_server

from portal import create_app
from portal.delivery.worker import Worker
from tests.conftest import app_config
from tests.mailserver import MailServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


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
