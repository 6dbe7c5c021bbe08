"""The join secret never reaches an access log: the development server (`make run`) and
gunicorn with the repository's gunicorn.conf.py, run for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from portal.config import ROOT

SECRET = "s3cret-from-the-link"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, path: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        # A server still starting on a busy machine: refused, or accepted but not answered.
        except (ConnectionError, TimeoutError, urllib.error.URLError):
            assert time.monotonic() < deadline, "the server didn't start"
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=20)
    return output


@pytest.fixture
def log_of(database_url):
    """Start a server with `command` (PORT in it is replaced), request `paths`, return its log."""
    started: list[subprocess.Popen] = []

    def run(command: list[str], paths: list[str], **env: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", *(arg.replace("PORT", str(port)) for arg in command)],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "SECRET_KEY": "test-secret-key",
                "PORTAL_BASE_URL": "http://portal.test",
                **env,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        statuses = [request(port, path) for path in paths]
        log = stop(process)
        assert statuses[0] in (200, 302, 404, 410), log
        return log

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_development_server_logs_paths_without_their_query(log_of):
    log = log_of(
        ["flask", "--app", "app", "run", "--host", "127.0.0.1", "--port", "PORT"],
        [
            f"/join?invite_id={SECRET}",
            f"/login?next=/invites%3Finvite_id%3D{SECRET}",
            f"/r/{SECRET}",
        ],
        PORTAL_ENV="development",
    )
    assert "GET /join HTTP/1.1" in log and "GET /login HTTP/1.1" in log, log
    assert "GET /r/[code] HTTP/1.1" in log, log
    assert SECRET not in log and "invite_id" not in log, log


def test_gunicorn_with_the_repository_config_logs_paths_without_their_query(log_of):
    log = log_of(
        [
            "gunicorn",
            "--bind",
            "127.0.0.1:PORT",
            "--workers",
            "1",
            "--no-control-socket",
            "--access-logfile",
            "-",
            "app:app",
        ],
        [f"/join?invite_id={SECRET}", f"/r/{SECRET}"],
        PORTAL_ENV="production",
    )
    assert '"GET /join HTTP/1.1"' in log and '"GET /r/[code] HTTP/1.1"' in log, log
    assert SECRET not in log and "invite_id" not in log, log
