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
from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

from portal.api import idempotency
from portal.audit import service as audit
from portal.clock import utcnow
from portal.delivery.email_channel import EmailChannel, message_id
from portal.delivery.errors import DeliveryFailed, Obsolete, PermanentFailure
from portal.delivery.mail import render_outbox_email
from portal.delivery.retry import next_attempt
from portal.invites.events import emit_invite_event
from portal.invites.service import effective_status, sweep_expired
from portal.models import (
    DeliveryStatus,
    IdempotencyRecord,
    Invitation,
    InvitationStatus,
    OutboxItem,
    OutboxStatus,
    WebhookEndpoint,
)
from portal.sealing import SealBroken, unseal
from portal.webhooks.channel import WebhookChannel

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
INVITATIONS = Invitation.__table__  # type: ignore[attr-defined]


def _core(session: Session, statement: Any) -> Any:
    return session.connection().execute(statement)


UNEXPECTED = {
    "email": "Something went wrong on our side with this e-mail; "
    "the details are in the portal's log.",
    "webhook": "Something went wrong on our side with this call; "
    "the details are in the portal's log.",
}


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
        self.disable_after = timedelta(hours=app.config["WEBHOOK_DISABLE_AFTER_HOURS"])
        self.engine = app.extensions["portal.engine"]
        self.webhooks = WebhookChannel(app)  # one pooled HTTP client for the worker's life

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
            with EmailChannel(self.app) as emails:
                for index, item in enumerate(items):
                    if self.stop.is_set():
                        self._release(session, items[index:])
                        break
                    self._deliver_one(session, item, emails, outcome)
        return outcome

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
        self, session: Session, item: OutboxItem, emails: EmailChannel, outcome: Outcome
    ) -> None:
        try:
            if item.kind == "email":
                self._deliver_email(session, item, emails)
                response_status = None
            elif item.kind == "webhook":
                response_status = self.webhooks.send(session, item)
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

    def _deliver_email(self, session: Session, item: OutboxItem, emails: EmailChannel) -> None:
        if item.topic == "invitation":
            invitation = session.get(Invitation, item.invitation_id)
            if (
                invitation is None
                or invitation.send_count != item.payload.get("send_number")
                or effective_status(invitation, utcnow()) is not InvitationStatus.PENDING
            ):
                raise Obsolete("not sent: the invitation was revoked, accepted or resent first")
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
        rendered = render_outbox_email(session, self.app.jinja_env, item, base_url, secret)
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
        if item.kind == "webhook":
            endpoint = session.get(WebhookEndpoint, item.endpoint_id)
            if endpoint is not None and endpoint.failing_since is not None:
                endpoint.failing_since = None  # the failing streak is over
                session.add(endpoint)
        if item.topic == "invitation" and self._mirror(session, item, DeliveryStatus.SENT, ""):
            invitation = session.get(Invitation, item.invitation_id)
            emit_invite_event(session, "INVITE_INVITED", invitation, now)

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
        if item.kind == "webhook":
            self._note_endpoint_failure(session, item, now, exc.message)
        if item.topic == "invitation" and not isinstance(exc, Obsolete):
            state = DeliveryStatus.FAILED if give_up else DeliveryStatus.QUEUED
            self._mirror(session, item, state, exc.message)
        return give_up

    def _note_endpoint_failure(
        self, session: Session, item: OutboxItem, now: datetime, error: str
    ) -> None:
        """An endpoint failing without a break for WEBHOOK_DISABLE_AFTER_HOURS is switched off."""
        endpoint = session.get(WebhookEndpoint, item.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= self.disable_after:
            endpoint.enabled = False
            endpoint.disabled_reason = (
                f"Disabled automatically: every delivery has failed since "
                f"{endpoint.failing_since:%d %b %Y %H:%M} UTC. Last error: {error}"
            )[:500]
            audit.record(
                session,
                None,
                "webhook.disabled",
                audit.Target("webhook", endpoint.public_id, endpoint.url),
                before={"enabled": True, "disabled_reason": ""},
                after={"enabled": False, "disabled_reason": endpoint.disabled_reason},
                organization_id=endpoint.organization_id,
                now=now,
            )
        session.add(endpoint)

    def _mirror(
        self, session: Session, item: OutboxItem, state: DeliveryStatus, error: str
    ) -> bool:
        """Show the e-mail's fate on the invitation row. A resend queues a newer e-mail, so an
        older one finishing late doesn't overwrite it. Returns whether the row was current."""
        changed = _core(
            session,
            update(INVITATIONS)
            .where(
                INVITATIONS.c.id == item.invitation_id,
                INVITATIONS.c.send_count == item.payload.get("send_number"),
            )
            .values(delivery_status=state.value, delivery_error=error[:500]),
        ).rowcount
        return changed == 1

    # --- periodic work and the loop -------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> int:
        """Persist expiries and emit INVITE_EXPIRED (safe from several workers at once)."""
        now = now or utcnow()
        with Session(self.engine) as session:
            count = sweep_expired(session, now)
            # Replayable API answers can carry a sealed link: keep them no longer than needed.
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at < now - idempotency.WINDOW
                )
            )
            session.commit()
        return count

    def run_forever(self, idle_min: float = 0.5, idle_max: float = 5.0) -> None:
        """Deliver until `self.stop` is set (the item in hand is finished first)."""
        stop = self.stop
        pause = idle_min
        sweep_every = self.app.config["SWEEP_INTERVAL_SECONDS"]
        next_sweep = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= next_sweep:
                        self.sweep()
                        next_sweep = time.monotonic() + sweep_every
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
            self.webhooks.close()


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
