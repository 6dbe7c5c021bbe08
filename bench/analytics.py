"""How long the analytics page takes with N invitations (issue 11: within 1 s at 1,000,000
on PostgreSQL), and the plans of its queries.

    make bench-analytics                                   # SQLite, 100,000 invitations
    make bench-analytics BENCH_ARGS="--invitations 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_analytics"

Seeds like bench/pages.py (the demo organisation, N invitations over a year, every state),
then renders GET /analytics in-process, signed in as the demo admin, for every period:
the page's whole cost (queries and rendering) without a server in front. Prints each
period's best and median of --repeat renders and EXPLAINs the queries of the default period
(90 days) and of all time. It exits 1 past --budget seconds, or if the default period reads
the invitation table sequentially. (Whole days are summed from invitation_daily; only the
part-days at a period's ends read invitations.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from bench.pages import (  # noqa: E402
    ADMIN_EMAIL,
    SECRET_KEY,
    csrf_token,
    migrate_and_seed_demo,
    portal_env,
    prepare_database,
    print_plans,
    seed,
)
from portal import sealing  # noqa: E402
from portal.analytics import queries  # noqa: E402
from portal.clock import utcnow  # noqa: E402
from portal.db import make_engine  # noqa: E402
from portal.models import Member  # noqa: E402
from portal.orgs import service as orgs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql+psycopg://…/bench_… (default: SQLite)")
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per page, at most")
    args = parser.parse_args()

    sealing.configure(SECRET_KEY)
    url, drop = prepare_database(args.database_url)
    env = portal_env(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        migrate_and_seed_demo(env)
        seed(engine, args.invitations, accept_links=0)
        print(
            f"database: {engine.dialect.name}  invitations: {args.invitations:,}  "
            f"cores: {os.cpu_count()}  (seeded in {time.perf_counter() - started:.0f} s)"
        )
        os.environ.update(env)
        from portal import create_app

        client = create_app().test_client()
        form = {"csrf_token": csrf_token(client.get("/login").get_data(as_text=True))}
        form |= {"email": ADMIN_EMAIL, "password": orgs.DEMO_PASSWORD}
        assert client.post("/login", data=form).status_code == 302

        slow = []
        print(f"{'period':<8} | {'best ms':>8} | {'median ms':>9}")
        for period in queries.PERIODS:
            times = []
            for _ in range(args.repeat):
                begun = time.perf_counter()
                response = client.get(f"/analytics?period={period}")
                times.append(time.perf_counter() - begun)
                assert response.status_code == 200, response.status_code
                assert "From invitation to member" in response.get_data(as_text=True)
            median = statistics.median(times)
            print(f"{period:<8} | {min(times) * 1000:>8.1f} | {median * 1000:>9.1f}")
            if median > args.budget:
                slow.append(f"{period}: {median:.2f} s")
        scans = explain(engine, queries.DEFAULT_PERIOD)
        explain(engine, "all")
        problems = slow + [f"sequential scan of invitation in: {', '.join(scans)}"] * bool(scans)
        if problems:
            raise SystemExit("FAILED:\n" + "\n".join(problems))
    finally:
        engine.dispose()
        drop()


def explain(engine, period: str) -> list[str]:  # noqa: ANN001
    """The plans of the page's queries for `period`; the labels of those that read the
    invitation table sequentially."""
    with Session(engine) as session:
        admin = session.exec(select(Member).where(Member.email == ADMIN_EMAIL)).one()
        session.expunge(admin)
    window = queries.window(period, utcnow())
    calls = {
        "report": lambda s: queries.report(s, admin, window),
        "leaderboard": lambda s: queries.leaderboard(s, admin.organization_id, None, None),
    }
    return print_plans(engine, {f"{label}, {period}": call for label, call in calls.items()})


if __name__ == "__main__":
    main()
