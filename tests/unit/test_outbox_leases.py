"""A claim is a lease: a worker slower than its lease keeps what it still has to send."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites


def test_a_batch_slower_than_its_lease_is_renewed_and_never_sent_twice(app, session, smtp, inviter):
    for n in range(6):
        invites.send_invitation(session, inviter, email=f"guest{n}@example.org", now=utcnow())
    session.commit()
    smtp.delay = 0.35  # six e-mails take about 2 s: twice the lease
    slow = Worker(app, name="slow")
    slow.lease = timedelta(seconds=1)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (slow.run_once(), done.set()))
    thread.start()
    rival = Worker(app, name="rival")
    stolen = 0
    while not done.wait(0.1):
        stolen += rival.run_once().total
    thread.join(timeout=30)
    ids = Counter(message["Message-ID"] for message in smtp.messages)
    assert stolen == 0, "the rival claimed items the slow worker still held"
    assert len(ids) == 6 and max(ids.values()) == 1
