"""Bulk invitations: how long a 10,000-row CSV file takes to validate (the preview) and to
queue (every row's invitation created and its e-mail in the outbox, chunk by chunk as the
worker runs them).

    make bench-bulk                                   # SQLite in a temporary directory
    python bench/bulk.py --rows 10000 --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The issue's targets on this machine: validated in under 5 s, queued in under 10 s. Timed
here, never in a test. It prints the Send click (the job queued for the worker) and every
row queued (invites.service.send_invitations, one call per chunk, as the worker runs them).
Sending the e-mails is the outbox's own speed (make bench-delivery).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, func, select  # noqa: E402

from portal import sealing  # noqa: E402
from portal.bulk import service as bulk  # noqa: E402
from portal.bulk.csvfile import read_lines  # noqa: E402
from portal.clock import utcnow  # noqa: E402
from portal.db import make_engine  # noqa: E402
from portal.migrate import upgrade  # noqa: E402
from portal.models import Invitation, OutboxItem  # noqa: E402
from portal.orgs import service as orgs  # noqa: E402
from portal.roles import Role  # noqa: E402


def csv_bytes(rows: int) -> bytes:
    lines = "".join(
        f"guest.number{n}@example.org;Guest Number {n};See you at the club night, Guest!\r\n"
        for n in range(rows)
    )
    return ("\ufeffE-mail;Full name;Message\r\n" + lines).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    sealing.configure("bench-secret-key")  # each invitation's link waits sealed in the outbox
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            org = orgs.create_organization(
                session, "Bench Club", slug=f"bench-{time.time_ns()}", now=utcnow()
            )
            admin = orgs.create_member(
                session,
                org,
                email=f"admin{time.time_ns()}@example.org",
                full_name="Bench Admin",
                password=None,
                role=Role.ADMIN_TENANT,
                now=utcnow(),
            )
            session.commit()
            data = csv_bytes(args.rows)
            print(f"{args.rows:,} rows, {len(data) / 1024 / 1024:.2f} MB, on {engine.dialect.name}")

            started = time.perf_counter()
            lines = read_lines(data)
            parsed = time.perf_counter()
            job = bulk.create_preview(session, admin, lines, filename="bench.csv", now=utcnow())
            session.commit()
            validated = time.perf_counter()
            print(
                f"validated (read {parsed - started:.2f} s + checked and stored "
                f"{validated - parsed:.2f} s): {validated - started:.2f} s  (target < 5 s)"
            )
            assert job.valid_count == args.rows, job

            started = time.perf_counter()
            bulk.start_sending(session, admin, job, raise_limit=True, now=utcnow())
            session.commit()
            print(f"job queued (the Send click): {time.perf_counter() - started:.3f} s")
            chunks = 0
            while bulk.process_chunk(session, job.id, utcnow()):
                session.commit()  # as the worker does: one transaction per chunk
                chunks += 1
            session.commit()
            queued = time.perf_counter() - started
            invitations = session.exec(
                select(func.count()).where(Invitation.organization_id == org.id)
            ).one()
            emails = session.exec(
                select(func.count()).where(
                    OutboxItem.organization_id == org.id, OutboxItem.kind == "email"
                )
            ).one()
            print(
                f"every row queued ({chunks} chunks of {bulk.CHUNK_SIZE}; {invitations:,} "
                f"invitations, {emails:,} e-mails in the outbox): {queued:.2f} s  (target < 10 s)"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
