"""Delivery throughput: e-mails and webhook calls per second, with 1 and then 2 workers.

    make bench-delivery                       # PostgreSQL at BENCH_DATABASE_URL (default: local)
    python bench/delivery.py --emails 5000 --webhooks 5000 --database-url sqlite:///...

Local receivers only: an aiosmtpd sink and a threaded HTTP server on loopback ports. Each
phase queues its items, starts N `portal worker` processes and times until all are sent.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from bench.support import free_port  # noqa: E402
from portal import sealing  # noqa: E402
from portal.clock import utcnow  # noqa: E402
from portal.db import make_engine  # noqa: E402
from portal.migrate import upgrade  # noqa: E402
from portal.models import OutboxItem  # noqa: E402
from portal.orgs import service as orgs  # noqa: E402
from portal.roles import Role  # noqa: E402
from portal.webhooks import service as webhooks  # noqa: E402

SECRET_KEY = "bench-secret-key"


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        return "250 OK"


def http_receiver(port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def prepare(url: str):
    """A private schema (PostgreSQL) or file (SQLite), migrated, with one organisation."""
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:

        def cleanup() -> None:
            pass

    engine = make_engine(url)
    upgrade(engine)
    return url, engine, cleanup


def queue_emails(engine, member_id: int, count: int) -> None:
    from portal.invites import service as invites
    from portal.models import Member

    with Session(engine) as session:
        member = session.get(Member, member_id)
        now = utcnow()
        for n in range(count):
            invites.send_invitation(
                session, member, email=f"b{uuid.uuid4().hex[:10]}{n}@example.org", now=now
            )
        session.commit()


def queue_webhooks(engine, org_id: int, count: int) -> None:
    with Session(engine) as session:
        now = utcnow()
        for n in range(count):
            webhooks.emit(session, org_id, "INVITE_REVOKED", {"n": n}, now)
        session.commit()


def run_phase(url: str, engine, kind: str, total: int, workers: int, env: dict) -> float:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "portal", "worker"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    start = time.perf_counter()
    try:
        with Session(engine) as session:
            while True:
                done = session.exec(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.kind == kind, OutboxItem.status == "sent")
                ).one()
                session.rollback()
                if done >= total:
                    break
                if time.perf_counter() - start > 600:
                    raise SystemExit(f"{kind}: only {done}/{total} after 10 minutes")
                time.sleep(0.05)
        return total / (time.perf_counter() - start)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()

    sealing.configure(SECRET_KEY)
    smtp_port, http_port = free_port(), free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    receiver = http_receiver(http_port)
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "PORTAL_BASE_URL": "http://portal.bench",
    }
    print(
        f"database: {make_url(args.database_url).get_backend_name()}  "
        f"e-mails: {args.emails}  webhook calls: {args.webhooks}  cores: {os.cpu_count()}"
    )
    print(f"{'workers':>7}  {'e-mails/s':>10}  {'webhooks/s':>10}")
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            url, engine, cleanup = prepare(args.database_url)
            try:
                with Session(engine) as session:
                    org = orgs.create_organization(
                        session, "Bench Club", slug="bench", now=utcnow()
                    )
                    member = orgs.create_member(
                        session,
                        org,
                        email="bench@example.org",
                        full_name="Bench",
                        password=None,
                        role=Role.ADMIN_TENANT,
                        now=utcnow(),
                    )
                    orgs.settings_for(session, org.id).daily_limit_per_member = 10**6
                    webhooks.create_endpoint(
                        session,
                        member,
                        url=f"http://127.0.0.1:{http_port}/hook",
                        event_types=["INVITE_REVOKED"],
                        description="bench",
                        now=utcnow(),
                        rules=webhooks.UrlRules(require_https=False, allow_private=True),
                    )
                    session.commit()
                    org_id, member_id = org.id, member.id
                queue_emails(engine, member_id, args.emails)
                emails = run_phase(url, engine, "email", args.emails, workers, env)
                queue_webhooks(engine, org_id, args.webhooks)
                calls = run_phase(url, engine, "webhook", args.webhooks, workers, env)
                print(f"{workers:>7}  {emails:>10.0f}  {calls:>10.0f}")
            finally:
                engine.dispose()
                cleanup()
    finally:
        controller.stop()
        receiver.shutdown()


if __name__ == "__main__":
    main()
