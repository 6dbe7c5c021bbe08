"""Real `portal worker` processes for the integration tests, and waiting on what they do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from portal.config import ROOT

# Short enough that a killed worker's claim is taken over within a test.
LEASE_SECONDS = 3


def start_worker(database_url: str, smtp_port: int, **config: str) -> subprocess.Popen:
    """A worker delivering to the tests' SMTP server; `config` adds PORTAL_CONFIG_* settings."""
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_CONFIG_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        **{f"PORTAL_CONFIG_{name}": value for name, value in config.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "portal", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
