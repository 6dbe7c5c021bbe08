"""API throughput and latency under gunicorn (2 workers): POST /invites, GET /invites?limit=100.

    make bench-api        # PostgreSQL at BENCH_DATABASE_URL (default: the local one)

Runs each endpoint for a few seconds with wrk, first with 1,000 and then with 100,000
invitations in the organisation: the list's latency must not grow with the table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.delivery import SECRET_KEY, prepare  # noqa: E402
from bench.support import api_token, free_port  # noqa: E402
from portal import sealing  # noqa: E402
from portal.clock import utcnow  # noqa: E402
from portal.models import Invitation  # noqa: E402
from portal.orgs import service as orgs  # noqa: E402
from portal.roles import Role  # noqa: E402

POST_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local address = string.format("w%d-%d-%d@example.org", math.random(1e9), counter, os.time())
  local body = '{"email": "' .. address .. '"}'
  return wrk.format("POST", "/api/v1/invites", nil, body)
end
"""


def seed_invitations(engine, org_id: int, member_id: int, count: int) -> None:
    """Bulk rows straight into the table: the benchmark measures reads, not seeding."""
    now = utcnow()
    rows = [
        {
            "public_id": f"iv-{uuid.uuid4().hex}",
            "organization_id": org_id,
            "unit_id": None,
            "inviter_id": member_id,
            "email": f"seed{n}-{uuid.uuid4().hex[:6]}@example.org",
            "full_name": "",
            "first_name": "",
            "last_name": "",
            "message": "",
            "secret_digest": uuid.uuid4().hex + uuid.uuid4().hex,
            "status": "PENDING",
            "created_at": now - timedelta(seconds=count - n),
            "updated_at": now,
            "sent_at": now,
            "expires_at": now + timedelta(days=14),
            "delivery_status": "sent",
            "delivery_error": "",
            "send_count": 1,
        }
        for n in range(count)
    ]
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(Invitation.__table__.insert(), rows[start : start + 5000])
        # What autovacuum would do before long: without statistics the planner takes the
        # freshly filled table for an empty one and picks plans that scan it all.
        conn.execute(text("ANALYZE invitation" if conn.dialect.name == "postgresql" else "ANALYZE"))


def wrk(url: str, token: str, seconds: int, script: str | None = None) -> tuple[float, str, str]:
    command = [
        "wrk",
        "-t2",
        "-c8",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Content-Type: application/json",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script or "")
    if script:
        command += ["-s", lua.name]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+(\S+)", output).group(1)
    p99 = re.search(r"99%\s+(\S+)", output).group(1)
    if "Non-2xx" in output:
        raise SystemExit(f"errors during the run:\n{output}")
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    sealing.configure(SECRET_KEY)
    print(f"{'invitations':>11}  {'endpoint':<22}{'req/s':>8}{'p50':>10}{'p99':>10}")
    for size in [int(s) for s in args.sizes.split(",")]:
        url, engine, cleanup = prepare(args.database_url)
        port = free_port()
        gunicorn = None
        try:
            with Session(engine) as session:
                org = orgs.create_organization(session, "Bench Club", slug="bench", now=utcnow())
                admin = orgs.create_member(
                    session,
                    org,
                    email="bench@example.org",
                    full_name="Bench",
                    password=None,
                    role=Role.ADMIN_TENANT,
                    now=utcnow(),
                )
                orgs.settings_for(session, org.id).daily_limit_per_member = 10**9
                token = api_token(session, admin, ["read-invites", "create-invites"], utcnow())
                session.commit()
                org_id, admin_id = org.id, admin.id
            seed_invitations(engine, org_id, admin_id, size)
            env = {
                **os.environ,
                "PORTAL_ENV": "production",
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": url,
                "PORTAL_CONFIG_API_RATE_LIMIT": "1000000 per minute",
            }
            gunicorn = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                    "app:app",
                ],
                cwd=ROOT,
                env=env,
            )
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            probe = httpx.get(
                f"{base}/api/v1/invites?limit=100", headers={"Authorization": f"Bearer {token}"}
            )
            if probe.status_code != 200:
                raise SystemExit(f"the API answered {probe.status_code}: {probe.text[:300]}")
            listing = wrk(f"{base}/api/v1/invites?limit=100", token, args.seconds)
            creating = wrk(f"{base}/api/v1/invites", token, args.seconds, POST_SCRIPT)
            for name, (rps, p50, p99) in (
                ("GET /invites?limit=100", listing),
                ("POST /invites", creating),
            ):
                print(f"{size:>11,}  {name:<22}{rps:>8.0f}{p50:>10}{p99:>10}")
        finally:
            if gunicorn is not None:
                gunicorn.send_signal(signal.SIGTERM)
                gunicorn.wait(timeout=30)
            engine.dispose()
            cleanup()


if __name__ == "__main__":
    main()
