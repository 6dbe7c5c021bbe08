"""A bulk job sent by real `portal worker` processes, one of them killed mid-job: every row
ends up sent exactly once, with its invitation and one invitation e-mail."""

from __future__ import annotations

import signal
import time
from collections import Counter

from sqlmodel import func, select

from portal.bulk import service as bulk
from portal.bulk.csvfile import read_lines
from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.models import BulkJob, BulkRow, Invitation, InvitationSend, OutboxItem
from tests.factories import settings
from tests.integration.workers import LEASE_SECONDS, start_worker, wait_until

ROWS = 400


def handled(session, job_id: int) -> int:
    session.expire_all()
    job = session.get(BulkJob, job_id)
    return job.sent_count + job.failed_count


def test_a_worker_killed_mid_job_sends_no_row_twice_and_loses_none(
    app, session, smtp, org, admin, database_url
):
    settings(session, org, daily_limit_per_member=5000)
    text = "email,name\n" + "".join(f"guest{n}@example.org,Guest {n}\n" for n in range(ROWS))
    job = bulk.create_preview(session, admin, read_lines(text.encode()), filename="f", now=utcnow())
    bulk.start_sending(session, admin, job, raise_limit=False, now=utcnow())
    session.commit()
    process = start_worker(database_url, smtp.port, BULK_CHUNK_SIZE="15")
    try:
        wait_until(lambda: handled(session, job.id) >= 45, 60, "the worker to get going")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    assert handled(session, job.id) < ROWS, "the worker should have been killed mid-job"
    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's leases run out
    rescuer = Worker(app, name="rescuer")
    while rescuer.run_once().total:
        pass
    session.expire_all()
    job = session.get(BulkJob, job.id)
    assert (job.status, job.sent_count, job.failed_count) == ("done", ROWS, 0)
    rows = session.exec(select(BulkRow).where(BulkRow.job_id == job.id)).all()
    assert {row.outcome for row in rows} == {"sent"}
    assert all(row.invitation_id is not None for row in rows)
    per_address = Counter(session.exec(select(Invitation.email)).all())
    assert len(per_address) == ROWS and max(per_address.values()) == 1  # no row sent twice
    assert session.exec(select(func.count()).select_from(InvitationSend)).one() == ROWS
    queued = session.exec(
        select(func.count()).where(OutboxItem.kind == "email", OutboxItem.topic == "invitation")
    ).one()
    assert queued == ROWS  # one invitation e-mail per row
    assert session.exec(select(func.count()).where(OutboxItem.status != "sent")).one() == 0
    delivered = Counter(m["To"] for m in smtp.messages)
    assert len(delivered) == ROWS  # every e-mail arrived (the one in flight perhaps twice)
