"""The outbox worker: claim a batch, deliver each item, record the outcome, repeat.

Claims are leases: an item claimed by a worker that dies is claimed again once its lease
runs out, so nothing is lost. On PostgreSQL, several workers claim with
FOR UPDATE SKIP LOCKED and never take the same item; on SQLite run one worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import or_, update
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.delivery.errors import DeliveryFailed, PermanentFailure
from portal.delivery.registry import MessageKind, PeriodicJob, Prepared, Registry, registry_of
from portal.delivery.retry import next_attempt
from portal.delivery.smtp import EmailChannel, message_id
from portal.models import OutboxItem, OutboxStatus
from portal.sealing import SealBroken, unseal

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retrying + self.failed


# Plain Core statements for the per-item bookkeeping: the ORM's bulk-update machinery costs
# more than the database round trip here (measured by bench/delivery.py).
OUTBOX = OutboxItem.__table__  # type: ignore[attr-defined]


def _core(session: Session, statement: Any) -> Any:
    return session.connection().execute(statement)


UNEXPECTED = {
    "email": "Something went wrong on our side with this e-mail; "
    "the details are in the portal's log.",
    "webhook": "Something went wrong on our side with this call; "
    "the details are in the portal's log.",
}


def _key(kind: MessageKind) -> str:
    return f"{kind.channel}:{kind.topic}"


def _without_secret(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "sealed_secret"}


class Worker:
    def __init__(
        self,
        app: Flask,
        name: str | None = None,
        batch_size: int = 50,
        stop: threading.Event | None = None,
    ) -> None:
        self.app = app
        self.stop = stop or threading.Event()  # set by SIGTERM: finish the item in hand, exit
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
        self.give_up_after = timedelta(hours=app.config["OUTBOX_GIVE_UP_HOURS"])
        self.engine = app.extensions["portal.engine"]
        self.registry: Registry = registry_of(app)
        # Opened once for the worker's life (one pooled HTTP client for webhooks, say).
        self.senders = {channel: open_(app) for channel, open_ in self.registry.senders.items()}

    # --- claiming ---------------------------------------------------------------------------

    def claim(self, session: Session, now: datetime) -> list[OutboxItem]:
        free = or_(OutboxItem.lease_expires_at.is_(None), OutboxItem.lease_expires_at < now)
        due = (
            select(OutboxItem.id)
            .where(
                OutboxItem.status == OutboxStatus.QUEUED, OutboxItem.next_attempt_at <= now, free
            )
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.exec(due).all())
        if not ids:
            session.rollback()
            return []
        token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        # The UPDATE re-checks the lease: on SQLite (no row locks) that is what stops two
        # claimers taking the same item.
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids), free)
            .values(lease_owner=token, lease_expires_at=now + self.lease)
        )
        session.commit()
        return list(
            session.exec(
                select(OutboxItem).where(OutboxItem.lease_owner == token).order_by(OutboxItem.id)
            ).all()
        )

    # --- one pass ---------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> Outcome:
        """Deliver what is due now. Returns what happened (for tests, the CLI and the loop)."""
        outcome = Outcome()
        with self.app.app_context(), Session(self.engine, expire_on_commit=False) as session:
            items = self.claim(session, now or utcnow())
            if not items:
                return outcome
            # Held until the batch is done: it keeps the loaded rows in the session.
            prepared = self._prepare(session, items)
            held_until = utcnow() + self.lease
            with EmailChannel(self.app) as emails:
                for index, item in enumerate(items):
                    if self.stop.is_set():
                        self._release(session, items[index:])
                        break
                    if utcnow() > held_until - self.lease / 2:
                        held_until, kept = self._renew(session, items[index:])
                        if item.id not in kept:
                            continue
                    self._deliver_one(session, item, emails, outcome, prepared)
        return outcome

    def _prepare(self, session: Session, items: list[OutboxItem]) -> dict[str, Prepared]:
        """Each kind with a `prepare` hook loads what its share of the batch needs at once.
        A hook that fails costs speed, not mail: its kind's render then loads item by item."""
        shares: dict[str, tuple[MessageKind, list[OutboxItem]]] = {}
        for item in items:
            for kind in self.registry.kinds_for(item):
                if kind.prepare is not None:
                    shares.setdefault(_key(kind), (kind, []))[1].append(item)
        prepared: dict[str, Prepared] = {}
        for key, (kind, share) in shares.items():
            try:
                prepared[key] = kind.prepare(session, share)  # type: ignore[misc]
            except Exception:
                log.exception("preparing %s outbox items raised; loading them one by one", key)
                session.rollback()
        return prepared

    def _renew(self, session: Session, items: list[OutboxItem]) -> tuple[datetime, set[int]]:
        """Past half its lease, a batch extends the lease of what it still has to send: a
        slow mail server must never let another worker claim, and send again, an item this
        one is about to send. An item whose lease already ran out and was taken over is
        left to its new owner."""
        now, owner = utcnow(), items[0].lease_owner
        ids = [item.id for item in items]
        ours = (OutboxItem.id.in_(ids), OutboxItem.lease_owner == owner)
        session.execute(update(OutboxItem).where(*ours).values(lease_expires_at=now + self.lease))
        kept = set(session.exec(select(OutboxItem.id).where(*ours)).all())
        session.commit()
        return now + self.lease, kept

    def _release(self, session: Session, items: list[OutboxItem]) -> None:
        """Hand back claimed items we won't get to, so another worker needn't wait for the
        lease to run out."""
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_([i.id for i in items]))
            .values(lease_owner=None, lease_expires_at=None)
        )
        session.commit()

    def _deliver_one(
        self,
        session: Session,
        item: OutboxItem,
        emails: EmailChannel,
        outcome: Outcome,
        prepared: dict[str, Prepared],
    ) -> None:
        try:
            if item.kind == "email":
                self._deliver_email(session, item, emails, prepared)
                response_status = None
            elif item.kind in self.senders:
                response_status = self.senders[item.kind].send(session, item)
            else:
                raise PermanentFailure(f"unknown outbox kind {item.kind!r}")
        except DeliveryFailed as exc:
            gave_up = self._record_failure(session, item, exc)
            outcome.failed += gave_up
            outcome.retrying += not gave_up
        except Exception:  # a bug, not a delivery problem: log it, retry later
            log.exception("outbox item %s raised", item.id)
            emails.reset()  # whatever it broke, the next item starts a clean SMTP transaction
            session.rollback()
            # The traceback is in the log; the row gets a sentence, never an exception's repr.
            failure = DeliveryFailed(UNEXPECTED.get(item.kind, UNEXPECTED["email"]))
            gave_up = self._record_failure(session, item, failure)
            outcome.failed += gave_up
            outcome.retrying += not gave_up
        else:
            self._record_success(session, item, response_status)
            outcome.delivered += 1
        session.commit()

    def _deliver_email(
        self,
        session: Session,
        item: OutboxItem,
        emails: EmailChannel,
        prepared: dict[str, Prepared],
    ) -> None:
        kinds = self.registry.kinds_for(item)
        for kind in kinds:
            if kind.check is not None:
                kind.check(session, item)  # before unsealing: an obsolete item stays sealed
        renderers = [kind for kind in kinds if kind.render is not None]
        if not renderers:
            raise ValueError(f"unknown e-mail topic {item.topic!r}")
        secret = None
        if "sealed_secret" in item.payload:
            try:
                secret = unseal(item.payload["sealed_secret"])
            except SealBroken as exc:
                raise PermanentFailure(
                    "This e-mail's link can't be recovered because the portal's secret key "
                    "changed after it was queued; resend the invitation."
                ) from exc
        base_url = self.app.config["PORTAL_BASE_URL"]
        renderer = renderers[-1]
        rendered = renderer.render(  # type: ignore[misc]
            session, self.app.jinja_env, item, base_url, secret, prepared.get(_key(renderer))
        )
        emails.send(session, rendered, message_id(item, base_url))

    # --- recording --------------------------------------------------------------------------

    def _record_success(
        self, session: Session, item: OutboxItem, response_status: int | None
    ) -> None:
        now = utcnow()
        _core(
            session,
            update(OUTBOX)
            .where(OUTBOX.c.id == item.id)
            .values(
                status=OutboxStatus.SENT,
                delivered_at=now,
                attempts=item.attempts + 1,
                lease_owner=None,
                lease_expires_at=None,
                last_error="",
                payload=_without_secret(item.payload),
                response_status=response_status,
            ),
        )
        for kind in self.registry.kinds_for(item):
            if kind.on_delivered is not None:
                kind.on_delivered(self.app, session, item, now)

    def _record_failure(self, session: Session, item: OutboxItem, exc: DeliveryFailed) -> bool:
        """Schedule a retry, or give up. Returns True when the item failed for good."""
        now = utcnow()
        attempts = item.attempts + 1
        give_up = isinstance(exc, PermanentFailure) or now - item.created_at >= self.give_up_after
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": exc.message[:1000],
            "lease_owner": None,
            "lease_expires_at": None,
            "response_status": exc.response_status,
        }
        if give_up:
            values.update(status=OutboxStatus.FAILED, payload=_without_secret(item.payload))
        else:
            values["next_attempt_at"] = next_attempt(attempts, now)
        log.warning(
            "outbox item %s (%s %s) failed%s: %s%s",
            item.id,
            item.kind,
            item.topic,
            " for good" if give_up else "; will retry",
            exc.message,
            f" ({exc.__cause__!r})" if exc.__cause__ is not None else "",
        )
        _core(session, update(OUTBOX).where(OUTBOX.c.id == item.id).values(**values))
        for kind in self.registry.kinds_for(item):
            hook = kind.on_gave_up if give_up else kind.on_failed
            if hook is not None:
                hook(self.app, session, item, exc, now)
        return give_up

    # --- periodic work and the loop -------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> int:
        """Run every periodic job now (safe from several workers at once). Returns what the
        jobs report changing (the expiry sweep: invitations expired)."""
        return sum(self._run_job(job, now or utcnow()) for job in self.registry.jobs)

    def _run_job(self, job: PeriodicJob, now: datetime) -> int:
        with Session(self.engine) as session:
            count = job.run(session, now)
            session.commit()
        return count or 0

    def _run_due_jobs(self, next_runs: dict[str, float]) -> None:
        for job in self.registry.jobs:
            if time.monotonic() >= next_runs.get(job.name, 0.0):
                self._run_job(job, utcnow())  # if it raises, it is tried again next pass
                next_runs[job.name] = time.monotonic() + self.app.config[job.every]

    def run_forever(self, idle_min: float = 0.5, idle_max: float = 5.0) -> None:
        """Deliver until `self.stop` is set (the item in hand is finished first)."""
        stop = self.stop
        pause = idle_min
        next_runs: dict[str, float] = {}
        try:
            while not stop.is_set():
                try:
                    self._run_due_jobs(next_runs)
                    outcome = self.run_once()
                except Exception:
                    log.exception("outbox worker pass failed; retrying shortly")
                    outcome = Outcome()
                if outcome.total:
                    pause = idle_min
                    continue
                stop.wait(pause)
                pause = min(pause * 2, idle_max)
        finally:
            for sender in self.senders.values():
                sender.close()


def start_in_thread(app: Flask) -> Callable[[], None]:
    """The embedded worker for `make run` (one process, SQLite). Returns a stop function."""
    stop = threading.Event()
    worker = Worker(app, name="embedded", stop=stop)
    thread = threading.Thread(
        target=worker.run_forever,
        kwargs={"idle_max": 2.0},  # a newcomer clicking around expects mail within seconds
        name="outbox-worker",
        daemon=True,
    )
    thread.start()

    def _stop() -> None:
        stop.set()
        thread.join(timeout=10)

    return _stop
