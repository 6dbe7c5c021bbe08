"""Real `portal worker` processes: killed, stopped, and several at once."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlmodel import Session, func, select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import OutboxItem
from tests.conftest import TEST_DATABASE_URL
from tests.factories import settings
from tests.integration.workers import LEASE_SECONDS, start_worker, wait_until


@pytest.fixture
def inviter(inviter, session, org):
    """conftest's inviter, under a daily limit that no queue here reaches."""
    settings(session, org, daily_limit_per_member=5000)
    return inviter


def queue(session, inviter, count: int) -> None:
    for n in range(count):
        invites.send_invitation(session, inviter, email=f"guest{n}@example.org", now=utcnow())
    session.commit()


def count(session, *where) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(OutboxItem).where(*where)).one()


def message_ids(smtp) -> Counter:
    return Counter(m["Message-ID"] for m in smtp.messages)


def test_a_killed_worker_loses_nothing(app, session, smtp, inviter, database_url):
    queue(session, inviter, 8)
    smtp.delay = 0.5
    process = start_worker(database_url, smtp.port)
    try:
        wait_until(lambda: len(smtp.messages) >= 2, 30, "the worker to start delivering")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    leased = count(session, OutboxItem.status == "queued", OutboxItem.lease_owner.is_not(None))
    assert leased > 0, "the killed worker should have held claimed items"
    smtp.delay = 0
    rescuer = Worker(app, name="rescuer")
    assert rescuer.run_once().total == 0, "leases still held: nobody else may take them yet"
    time.sleep(LEASE_SECONDS + 0.5)
    while rescuer.run_once().total:
        pass
    assert count(session, OutboxItem.status != "sent") == 0
    ids = message_ids(smtp)
    assert len(ids) == 8  # every e-mail arrived; at most the one in flight arrived twice
    assert sum(ids.values()) <= 9


def test_sigterm_finishes_the_item_in_hand_and_exits_cleanly(session, smtp, inviter, database_url):
    queue(session, inviter, 6)
    smtp.delay = 0.6
    process = start_worker(database_url, smtp.port)
    wait_until(lambda: len(smtp.messages) >= 1, 30, "the first delivery")
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert b"Outbox worker stopped." in output
    sent = count(session, OutboxItem.status == "sent")
    assert sent == len(smtp.messages) and 1 <= sent < 6
    # What it didn't get to is handed back, not left leased.
    assert count(session, OutboxItem.lease_owner.is_not(None)) == 0


def test_every_queued_email_is_delivered_exactly_once(session, smtp, inviter, database_url, engine):
    # On PostgreSQL, three workers compete (FOR UPDATE SKIP LOCKED); on SQLite one worker is
    # the supported set-up, and the same guarantee is checked for it.
    workers = 3 if TEST_DATABASE_URL else 1
    total = 1000 if TEST_DATABASE_URL else 300
    queue(session, inviter, total)
    processes = [start_worker(database_url, smtp.port) for _ in range(workers)]
    try:
        with Session(engine) as probe:
            wait_until(
                lambda: count(probe, OutboxItem.status == "sent") == total,
                180,
                "all e-mails to be sent",
            )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=20)
    ids = message_ids(smtp)
    assert len(ids) == total
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1][:5]
