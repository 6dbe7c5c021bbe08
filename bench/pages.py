"""Page speed as a ratio to the bare framework: the dashboard, the join page, send and accept.

    make bench-pages                                      # SQLite, 1,000 invitations, 10 s each
    make bench-pages BENCH_ARGS="--seconds 5 --api --explain"
    make bench-pages BENCH_ARGS="--invitations 1000000 --api --explain \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages"

In one run it serves a floor app (bench/floor.py: one route, a ~2 KB template) and the portal,
each under `gunicorn -w 2` (sync workers), and drives both with 4 keep-alive clients
(bench/load.py: the sign-in, CSRF and fresh-link steps need a real client, and one load
generator for every scenario keeps the ratios fair). The database is a fresh SQLite file, or
a PostgreSQL database created and dropped by the run (its name must start with "bench"). It
is migrated and seeded with the project's own commands (`portal migrate`, `portal
seed-demo`), then gets N invitations over every state, the demo members as inviters and a
year of dates; seeding is not timed.

Scenarios (one step each, timed as a whole; req/s counts steps):
    floor      GET / on the floor app
    home       GET / on the portal, signed in: its least page (session, login, organisation,
               layout), what any signed-in page costs before doing its own work
    dashboard  GET /invites, signed in as the demo admin
    join       GET /join, the page the link leads to (each client opened its own link once)
    send       GET /invites, then POST the send form as htmx does (a new address each time)
    accept     open a fresh link, GET /join, POST the join form (cheapest password hash)
    api        GET /api/v1/invites?limit=100 with a token (with --api)

It checks its own results and exits 1 otherwise: every answer as expected, every send an
invitation in the database and every accept a member. --explain prints the query plans of
the dashboard's list and count queries and of the API's list, and flags a sequential scan of
the invitation table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.load import Exhausted, Result, drive, expect  # noqa: E402
from bench.support import api_token, free_port, gunicorn, wait_until_up  # noqa: E402
from portal import sealing  # noqa: E402
from portal.api import queries as api_queries  # noqa: E402
from portal.clock import utcnow  # noqa: E402
from portal.db import make_engine  # noqa: E402
from portal.invites import queries as invite_queries  # noqa: E402
from portal.invites.service import digest  # noqa: E402
from portal.models import Invitation, InvitationStatus, Member, Organization  # noqa: E402
from portal.orgs import service as orgs  # noqa: E402

SECRET_KEY = "bench-pages-secret-key"
CLIENTS = 4
WARMUP_SECONDS = 1.0
UNLIMITED = "1000000 per minute"
JOIN_PASSWORD = "bench-join-password-2026"  # noqa: S105
ADMIN_EMAIL = orgs.DEMO_MEMBERS[0][0]  # the demo admin
CHUNK = 10_000
SCENARIOS = ("floor", "home", "dashboard", "join", "api", "send", "accept")
STATES = ("pending", "accepted", "expired", "revoked")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- the database ------------------------------------------------------------------------------


def prepare_database(url: str | None) -> tuple[str, Callable[[], None]]:
    """A fresh SQLite file in a temp dir, or a PostgreSQL database created for this run."""
    if not url:
        folder = tempfile.mkdtemp(prefix="bench-pages-")
        return f"sqlite:///{folder}/portal.sqlite3", lambda: shutil.rmtree(folder)
    target = make_url(url)
    name = target.database or ""
    if not name.startswith("bench"):
        raise SystemExit(f"the run drops its database: name it bench_… (not {name!r})")
    server = make_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return target.render_as_string(hide_password=False), drop


def portal_env(url: str) -> dict[str, str]:
    """Production settings, but plain-HTTP cookies (loopback), no rate limits in the way, and
    the cheapest password hash (issue 10's settings: ignored where they don't exist yet)."""
    return {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "PORTAL_CONFIG_SESSION_COOKIE_SECURE": "0",
        "PORTAL_CONFIG_LOGIN_LIMIT_PER_IP": UNLIMITED,
        "PORTAL_CONFIG_LOGIN_LIMIT_PER_ACCOUNT": UNLIMITED,
        "PORTAL_CONFIG_JOIN_LIMIT_PER_IP": UNLIMITED,
        "PORTAL_CONFIG_API_RATE_LIMIT": UNLIMITED,
        "PORTAL_CONFIG_PASSWORD_HASH_TIME_COST": "1",
        "PORTAL_CONFIG_PASSWORD_HASH_MEMORY_COST": "8",
        "PORTAL_CONFIG_PASSWORD_HASH_PARALLELISM": "1",
    }


def migrate_and_seed_demo(env: dict[str, str]) -> None:
    """What `make migrate` and `make demo` run, against the benchmark's database."""
    for command in (["migrate"], ["seed-demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "portal", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


@dataclass(frozen=True)
class Seeded:
    org_id: int
    token: str
    join_links: list[str]  # one per client
    accept_links: queue.SimpleQueue[tuple[str, str]]  # (secret, address), each used once


Inviter = tuple[int, int | None]  # (member id, unit id)


def seed(engine: Engine, invitations: int, accept_links: int) -> Seeded:
    """N invitations over states, inviters and a year; then pending ones with known secrets."""
    now = utcnow()
    with Session(engine) as session:
        org_id, inviters, token = ready_demo_organisation(session, now)
        host = joiners_organisation(session, now)
        session.commit()
        host_ids = (host.organization_id, (host.id, None))
    insert_in_chunks(engine, spread_invitations(org_id, inviters, invitations, now))
    join = [link_row(org_id, inviters[0], f"join-{n}", now) for n in range(CLIENTS)]
    accept = [link_row(*host_ids, f"accept-{n}", now) for n in range(accept_links)]
    insert_in_chunks(engine, (row for _secret, row in join + accept))
    # What autovacuum would do before long: without statistics the planner takes the freshly
    # filled table for an empty one, and without a visibility map no index-only scan skips
    # the heap (VACUUM can't run inside a transaction, hence autocommit).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        postgres = conn.dialect.name == "postgresql"
        conn.execute(text("VACUUM ANALYZE invitation" if postgres else "ANALYZE"))
    links: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for secret, row in accept:
        links.put((secret, row["email"]))
    return Seeded(org_id, token, [secret for secret, _row in join], links)


def ready_demo_organisation(session: Session, now: datetime) -> tuple[int, list[Inviter], str]:
    """The demo organisation's id and members, no daily limit, and an API token."""
    org = session.exec(select(Organization).where(Organization.slug == "demo-club")).one()
    members = session.exec(select(Member).where(Member.organization_id == org.id)).all()
    admin = next(m for m in members if m.email == ADMIN_EMAIL)
    orgs.settings_for(session, org.id).daily_limit_per_member = 10**9
    token = api_token(session, admin, ["read-invites"], now)
    return org.id, [(m.id, m.unit_id) for m in members], token


def joiners_organisation(session: Session, now: datetime) -> Member:
    """Where accept's links live, so the demo organisation holds N invitations (and one link
    per client) however long the run."""
    org = orgs.create_organization(session, "Bench Joiners", slug="bench-joiners", now=now)
    host = orgs.create_member(
        session, org, email="host@bench-joiners.org", full_name="Host", password=None, now=now
    )
    session.flush()
    return host


def invitation_row(org_id: int, inviter: Inviter, n: int, state: str, created: datetime) -> dict:
    """One row for a bulk insert; every key present (executemany wants the same keys)."""
    now = utcnow()
    expires = created + timedelta(days=14) if state != "pending" else now + timedelta(days=14)
    status = {"pending": InvitationStatus.PENDING, "accepted": InvitationStatus.ACCEPTED}.get(
        state, InvitationStatus.EXPIRED if state == "expired" else InvitationStatus.REVOKED
    )
    return {
        "public_id": f"iv-{uuid.uuid4().hex}",
        "organization_id": org_id,
        "unit_id": inviter[1],
        "inviter_id": inviter[0],
        "email": f"seed{n}-{uuid.uuid4().hex[:8]}@example.org",
        "full_name": f"Seeded Person {n}",
        "first_name": "",
        "last_name": "",
        "message": "",
        "secret_digest": uuid.uuid4().hex + uuid.uuid4().hex,
        "status": status.value,
        "created_at": created,
        "updated_at": created,
        "sent_at": created,
        "expires_at": expires,
        "first_visited_at": created + timedelta(hours=12) if state == "accepted" else None,
        "accepted_at": created + timedelta(days=1) if state == "accepted" else None,
        "revoked_at": created + timedelta(days=1) if state == "revoked" else None,
        "delivery_status": "sent",
        "delivery_error": "",
        "send_count": 1,
    }


def spread_invitations(
    org_id: int, inviters: list[Inviter], count: int, now: datetime
) -> Iterator[dict]:
    """Oldest first (ids grow with time), over a year, cycling states and inviters."""
    for n in range(count):
        created = now - timedelta(days=365 * (count - n) / count)
        yield invitation_row(
            org_id, inviters[n % len(inviters)], n, STATES[n % len(STATES)], created
        )


def link_row(org_id: int, inviter: Inviter, name: str, now: datetime) -> tuple[str, dict]:
    """A pending invitation whose link the benchmark knows (only the digest is stored)."""
    secret = f"bench-{name}-{uuid.uuid4().hex}"
    row = invitation_row(org_id, inviter, 0, "pending", now)
    row |= {"email": f"{name}-{uuid.uuid4().hex[:8]}@example.org", "secret_digest": digest(secret)}
    return secret, row


def insert_in_chunks(engine: Engine, rows: Iterator[dict]) -> None:
    """executemany per chunk (SQLAlchemy batches it into multi-row INSERTs on PostgreSQL)."""
    with engine.begin() as conn:
        while chunk := list(itertools.islice(rows, CHUNK)):
            conn.execute(Invitation.__table__.insert(), chunk)


def counted(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


# --- the servers and their clients -------------------------------------------------------------


def start_servers(env: dict[str, str]) -> tuple[str, str, list[subprocess.Popen]]:
    floor_port, portal_port = free_port(), free_port()
    procs = [
        gunicorn("bench.floor:app", floor_port, env),
        gunicorn("app:app", portal_port, env),
    ]
    floor, portal = f"http://127.0.0.1:{floor_port}", f"http://127.0.0.1:{portal_port}"
    wait_until_up(f"{floor}/")
    wait_until_up(f"{portal}/login")
    return floor, portal, procs


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)


def client(base: str, **options: object) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, **options)


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise SystemExit(f"no CSRF token on the page: {html[:300]!r}")
    return found.group(1)


def signed_in(base: str) -> httpx.Client:
    """A client signed in as the demo admin through the real login form."""
    admin = client(base)
    page = expect(admin.get("/login"), 200)
    form = {"csrf_token": csrf_token(page.text), "email": ADMIN_EMAIL}
    expect(admin.post("/login", data=form | {"password": orgs.DEMO_PASSWORD}), 302)
    return admin


def with_link_opened(base: str, secret: str) -> httpx.Client:
    """An anonymous client that has opened its invitation link (the session holds it)."""
    visitor = client(base)
    expect(visitor.get("/join", params={"invite_id": secret}), 302)
    return visitor


# --- the scenarios -----------------------------------------------------------------------------


def floor_step(client: httpx.Client) -> None:
    expect(client.get("/"), 200, "<table>")


def home_step(client: httpx.Client) -> None:
    expect(client.get("/"), 200, "Welcome")


def dashboard_step(client: httpx.Client) -> None:
    expect(client.get("/invites"), 200, "Pending")


def join_step(client: httpx.Client) -> None:
    expect(client.get("/join"), 200, 'name="password"')


def api_step(client: httpx.Client) -> None:
    expect(client.get("/api/v1/invites", params={"limit": 100}), 200, '"data"')


def send_step(run: str) -> Callable[[httpx.Client], None]:
    numbers = itertools.count()

    def step(client: httpx.Client) -> None:
        token = csrf_token(expect(client.get("/invites"), 200).text)
        form = {
            "csrf_token": token,
            "email": f"sent-{run}-{next(numbers)}@example.org",
            "full_name": "",
            "message": "",
            "template_id": "",
        }
        headers = {
            "HX-Request": "true",
            "HX-Target": "send-invitation",
            "HX-Current-URL": f"{client.base_url}invites",
            "X-CSRFToken": token,
        }
        expect(client.post("/invites", data=form, headers=headers), 200, "Invitation sent to")

    return step


def accept_step(links: queue.SimpleQueue[tuple[str, str]]) -> Callable[[httpx.Client], None]:
    def step(client: httpx.Client) -> None:
        try:
            secret, address = links.get_nowait()
        except queue.Empty:
            raise Exhausted from None
        client.cookies.clear()  # a new visitor: the last accept signed this client in
        expect(client.get("/join", params={"invite_id": secret}), 302)
        token = csrf_token(expect(client.get("/join"), 200).text)
        form = {
            "csrf_token": token,
            "full_name": "Bench Joiner",
            "email": address,
            "password": JOIN_PASSWORD,
        }
        expect(client.post("/join", data=form), 302)

    return step


Step = Callable[[httpx.Client], None]
WRITES = {"send": Invitation, "accept": Member}  # what each write scenario adds a row to


def clients_and_step(
    name: str, floor: str, portal: str, seeded: Seeded, admins: list[httpx.Client]
) -> tuple[list[httpx.Client], Step]:
    if name == "floor":
        return [client(floor) for _ in range(CLIENTS)], floor_step
    if name == "home":
        return admins, home_step
    if name == "dashboard":
        return admins, dashboard_step
    if name == "join":
        return [with_link_opened(portal, secret) for secret in seeded.join_links], join_step
    if name == "api":
        bearer = {"Authorization": f"Bearer {seeded.token}"}
        return [client(portal, headers=bearer) for _ in range(CLIENTS)], api_step
    if name == "send":
        return admins, send_step(uuid.uuid4().hex[:8])
    return [client(portal) for _ in range(CLIENTS)], accept_step(seeded.accept_links)


def run_scenarios(
    names: list[str], floor: str, portal: str, seeded: Seeded, engine: Engine, seconds: float
) -> dict[str, Result]:
    """Each scenario in turn, checking that each write step left its row in the database."""
    admins = [signed_in(portal) for _ in range(CLIENTS)]
    results = {}
    for name in names:
        clients, step = clients_and_step(name, floor, portal, seeded, admins)
        table = WRITES.get(name)
        before = counted(engine, table) if table else 0
        results[name] = result = drive(clients, step, seconds, WARMUP_SECONDS)
        if table and (made := counted(engine, table) - before) != result.done:
            result.errors.append(
                f"{result.done} steps answered as done, but {made} new {table.__name__} rows"
            )
    return results


# --- the report --------------------------------------------------------------------------------


def print_table(results: dict[str, Result]) -> None:
    floor = results.get("floor")
    print(f"{'scenario':<10} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | ratio to floor")
    print(f"{'-' * 10} | {'-' * 8} | {'-' * 7} | {'-' * 7} | {'-' * 14}")
    for name, result in results.items():
        ratio = f"{result.rate / floor.rate:.2f}x" if floor and floor.rate else "-"
        note = "  (ran out of links)" if result.exhausted else ""
        print(
            f"{name:<10} | {result.rate:>8.1f} | {result.percentile(0.5) * 1000:>7.1f} | "
            f"{result.percentile(0.99) * 1000:>7.1f} | {ratio}{note}"
        )


def failures(results: dict[str, Result]) -> list[str]:
    found = []
    for name, result in results.items():
        if not result.latencies:
            found.append(f"{name}: no step completed in the measured time")
        found += [f"{name}: {error}" for error in result.errors[:5]]
        if len(result.errors) > 5:
            found.append(f"{name}: … and {len(result.errors) - 5} more errors")
    return found


def captured_sql(engine: Engine, call: Callable[[Session], object]) -> list[tuple[str, object]]:
    """The statements `call` sends, with their parameters, as the database receives them."""
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            call(session)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    return [(sql, params) for sql, params in statements if re.search(r"\binvitation\b", sql)]


def explain(engine: Engine, org_id: int) -> None:
    """EXPLAIN the dashboard's list and count queries and the API's list, from the real SQL."""
    now = utcnow()
    with Session(engine) as session:
        admin = session.exec(select(Member).where(Member.email == ADMIN_EMAIL)).one()
        session.expunge(admin)
    calls: dict[str, Callable[[Session], object]] = {
        **{
            f"dashboard list {bucket}": (
                lambda s, b=bucket: invite_queries.list_page(s, admin, b, now)
            )
            for bucket in invite_queries.BUCKETS
        },
        "dashboard counts": lambda s: invite_queries.counts(s, admin, now),
        "api list": lambda s: api_queries.list_invites(
            s, org_id, api_queries.InviteFilters(), now, limit=100
        ),
    }
    scans = print_plans(engine, calls)
    print(
        f"\nsequential scan of invitation in: {', '.join(scans)}"
        if scans
        else "\nno sequential scan of invitation"
    )


def print_plans(engine: Engine, calls: dict[str, Callable[[Session], object]]) -> list[str]:
    """Print the plan of every invitation query each call sends; answer the labels of those
    that read the invitation table sequentially."""
    postgres = engine.dialect.name == "postgresql"
    scans = []
    for label, call in calls.items():
        for sql, params in captured_sql(engine, call):
            with engine.connect() as conn:
                prefix = "EXPLAIN (FORMAT TEXT) " if postgres else "EXPLAIN QUERY PLAN "
                rows = conn.exec_driver_sql(prefix + sql, params).all()
            plan = [row[0] if postgres else row[-1] for row in rows]
            print(f"\n-- {label}\n" + "\n".join(plan))
            if any(sequential_scan(line) for line in plan):
                scans.append(label)
    return scans


def sequential_scan(line: str) -> bool:
    return bool(
        re.search(r"Seq Scan on invitation\b", line)
        or re.search(r"\bSCAN invitation\b(?! USING)", line)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql+psycopg://…/bench_… (default: SQLite)")
    parser.add_argument("--invitations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--api", action="store_true", help="also GET /api/v1/invites")
    parser.add_argument("--explain", action="store_true", help="print the list queries' plans")
    parser.add_argument(
        "--accept-links", type=int, help="fresh links for accept (default: 300 per second run)"
    )
    parser.add_argument("--scenarios", default="floor,home,dashboard,join,send,accept")
    args = parser.parse_args()
    chosen = set(args.scenarios.split(",")) | ({"api"} if args.api else set())
    names = [name for name in SCENARIOS if name in chosen]  # api before send adds rows
    accept_links = args.accept_links or int(300 * (args.seconds + WARMUP_SECONDS))

    sealing.configure(SECRET_KEY)
    url, drop = prepare_database(args.database_url)
    env = portal_env(url)
    engine = make_engine(url)
    procs: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        migrate_and_seed_demo(env)
        seeded = seed(engine, args.invitations, accept_links)
        print(
            f"database: {engine.dialect.name}  invitations: {args.invitations:,}  "
            f"cores: {os.cpu_count()}  clients: {CLIENTS}  seconds: {args.seconds:g}  "
            f"(seeded in {time.perf_counter() - started:.0f} s)"
        )
        floor, portal, procs = start_servers(env)
        results = run_scenarios(names, floor, portal, seeded, engine, args.seconds)
        print_table(results)
        if args.explain:
            explain(engine, seeded.org_id)
        if problems := failures(results):
            raise SystemExit("FAILED:\n" + "\n".join(problems))
    finally:
        stop_servers(procs)
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()
