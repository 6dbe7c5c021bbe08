"""Helpers the benchmarks share; bench/ stays independent of tests/ so either can change alone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlmodel import Session

from portal.api import tokens
from portal.models import Member

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    # aiosmtpd's Controller(port=0) can't confirm its own start-up: pick the port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(app: str, port: int, env: dict[str, str], workers: int = 2) -> subprocess.Popen:
    """`app` (module:variable) under gunicorn with sync workers, from the repository root."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )


def wait_until_up(url: str, attempts: int = 150) -> None:
    """Until `url` answers 200 (the workers have imported the app), or exit."""
    for _ in range(attempts):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer 200 in {attempts / 10:.0f} s")


def api_token(session: Session, owner: Member, scopes: list[str], now: datetime) -> str:
    """A token for the benchmark's requests, never expiring: its secret (shown once)."""
    created = tokens.create_token(
        session,
        owner,
        name="bench",
        owner_public_id=owner.public_id,
        scopes=scopes,
        expires_on=None,
        now=now,
    )
    return created.secret
