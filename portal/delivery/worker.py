"""The outbox worker: claim a batch, deliver each item, record the outcome, repeat.

Claims are leases: an item claimed by a worker that dies is claimed again once its lease
runs out, so nothing is lost. On PostgreSQL, several workers claim with
FOR UPDATE SKIP LOCKED and never take the same item; on SQLite run one worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_mail import Message
from sqlalchemy import or_, update
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.delivery.mail import RenderedEmail, render_outbox_email
from portal.delivery.retry import next_attempt
from portal.extensions import mail
from portal.models import DeliveryStatus, DevMail, Invitation, OutboxItem, OutboxStatus
from portal.sealing import SealBroken, unseal

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """Retrying won't help (a 5xx rejection, a broken payload)."""


@dataclass
class Outcome:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retrying + self.failed


class Worker:
    def __init__(self, app: Flask, name: str | None = None, batch_size: int = 50) -> None:
        self.app = app
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
        self.give_up_after = timedelta(hours=app.config["OUTBOX_GIVE_UP_HOURS"])
        self.engine = app.extensions["portal.engine"]

    # --- claiming ---------------------------------------------------------------------------

    def claim(self, session: Session, now: datetime) -> list[OutboxItem]:
        due = (
            select(OutboxItem.id)
            .where(
                OutboxItem.status == OutboxStatus.QUEUED,
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.lease_expires_at.is_(None), OutboxItem.lease_expires_at < now),
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
        # Re-check the lease in the UPDATE itself: on SQLite (no row locks) it is what
        # stops two claimers taking the same item.
        session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id.in_(ids),
                or_(OutboxItem.lease_expires_at.is_(None), OutboxItem.lease_expires_at < now),
            )
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
            with EmailChannel(self.app) as email_channel:
                for item in items:
                    self._deliver_one(session, item, email_channel, outcome)
        return outcome

    def _deliver_one(
        self, session: Session, item: OutboxItem, channel: EmailChannel, outcome: Outcome
    ) -> None:
        try:
            if item.kind == "email":
                self._deliver_email(session, item, channel)
            else:
                raise PermanentFailure(f"unknown outbox kind {item.kind!r}")
        except PermanentFailure as exc:
            self._record_failure(session, item, str(exc), permanent=True)
            outcome.failed += 1
        except Exception as exc:  # noqa: BLE001 (any other error is worth another try)
            log.warning("delivery of outbox item %s failed: %s", item.id, exc)
            gave_up = self._record_failure(session, item, describe(exc), permanent=False)
            outcome.failed += gave_up
            outcome.retrying += not gave_up
        else:
            self._record_success(session, item)
            outcome.delivered += 1
        session.commit()

    def _deliver_email(self, session: Session, item: OutboxItem, channel: EmailChannel) -> None:
        secret = None
        if "sealed_secret" in item.payload:
            try:
                secret = unseal(item.payload["sealed_secret"])
            except SealBroken as exc:
                raise PermanentFailure(str(exc)) from exc
        rendered = render_outbox_email(
            session, self.app.jinja_env, item, self.app.config["PORTAL_BASE_URL"], secret
        )
        channel.send(session, rendered, message_id(item, self.app.config["PORTAL_BASE_URL"]))

    # --- recording --------------------------------------------------------------------------

    def _record_success(self, session: Session, item: OutboxItem) -> None:
        now = utcnow()
        payload = {k: v for k, v in item.payload.items() if k != "sealed_secret"}
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item.id)
            .values(
                status=OutboxStatus.SENT,
                delivered_at=now,
                attempts=item.attempts + 1,
                lease_owner=None,
                lease_expires_at=None,
                last_error="",
                payload=payload,
            )
        )
        self._mirror_on_invitation(session, item, DeliveryStatus.SENT, "")

    def _record_failure(
        self, session: Session, item: OutboxItem, error: str, permanent: bool
    ) -> bool:
        """Schedule a retry, or give up. Returns True when the item failed for good."""
        now = utcnow()
        attempts = item.attempts + 1
        give_up = permanent or now - item.created_at >= self.give_up_after
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": error[:1000],
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if give_up:
            values.update(
                status=OutboxStatus.FAILED,
                payload={k: v for k, v in item.payload.items() if k != "sealed_secret"},
            )
        else:
            values["next_attempt_at"] = next_attempt(attempts, now)
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(**values))
        state = DeliveryStatus.FAILED if give_up else DeliveryStatus.QUEUED
        self._mirror_on_invitation(session, item, state, error)
        return give_up

    def _mirror_on_invitation(
        self, session: Session, item: OutboxItem, state: DeliveryStatus, error: str
    ) -> None:
        """The invitation row shows how its e-mail is doing (only for the invitation e-mail)."""
        if item.topic != "invitation" or item.invitation_id is None:
            return
        # A resend queues a newer e-mail; an older one finishing late mustn't overwrite it.
        session.execute(
            update(Invitation)
            .where(
                Invitation.id == item.invitation_id,
                Invitation.send_count == item.payload.get("send_number"),
            )
            .values(delivery_status=state.value, delivery_error=error[:500])
        )

    # --- the loop ---------------------------------------------------------------------------

    def run_forever(
        self, stop: threading.Event, idle_min: float = 0.5, idle_max: float = 5.0
    ) -> None:
        """Deliver until `stop` is set; when idle, poll with growing pauses."""
        pause = idle_min
        while not stop.is_set():
            try:
                outcome = self.run_once()
            except Exception:
                log.exception("outbox worker pass failed; retrying shortly")
                outcome = Outcome()
            if outcome.total:
                pause = idle_min
                continue
            stop.wait(pause)
            pause = min(pause * 2, idle_max)


def message_id(item: OutboxItem, base_url: str) -> str:
    """Stable across retries, so receivers can dedupe."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "portal"
    return f"<{item.idempotency_key}@{host}>"


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"mail server answered {exc.smtp_code}: {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, detail = next(iter(exc.recipients.values()))
        return f"mail server refused the recipient ({code}): {detail.decode(errors='replace')}"
    if isinstance(exc, ConnectionRefusedError):
        return "mail server refused the connection (is it running?)"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "mail server did not answer in time"
    return f"{type(exc).__name__}: {exc}"


class EmailChannel:
    """Sends rendered e-mails: over one SMTP connection per batch, or to the dev mailbox."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.use_mailbox = not app.config.get("MAIL_SERVER")
        self._connection: Any = None

    def __enter__(self) -> EmailChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._drop_connection()

    def _smtp(self) -> Any:
        if self._connection is None:
            connection = mail.connect()
            connection.__enter__()
            self._connection = connection
        return self._connection

    def send(self, session: Session, email: RenderedEmail, msg_id: str) -> None:
        if self.use_mailbox:
            session.add(
                DevMail(
                    recipient=email.to,
                    subject=email.subject,
                    text_body=email.text,
                    html_body=email.html,
                    message_id=msg_id,
                    created_at=utcnow(),
                )
            )
            return
        message = Message(
            subject=email.subject, recipients=[email.to], body=email.text, html=email.html
        )
        message.msgId = msg_id
        try:
            self._smtp().send(message)
        except smtplib.SMTPResponseException as exc:
            self._drop_connection()
            if exc.smtp_code >= 500:
                raise PermanentFailure(describe(exc)) from exc
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            if code >= 500:
                raise PermanentFailure(describe(exc)) from exc
            raise
        except (smtplib.SMTPException, OSError):
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        """After an error the connection's state is unknown: the next item opens a new one."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.__exit__(None, None, None)


def start_in_thread(app: Flask) -> Callable[[], None]:
    """The embedded worker for `make run` (one process, SQLite). Returns a stop function."""
    stop = threading.Event()
    worker = Worker(app, name="embedded")
    thread = threading.Thread(
        target=worker.run_forever,
        args=(stop,),
        kwargs={"idle_max": 2.0},  # a newcomer clicking around expects mail within seconds
        name="outbox-worker",
        daemon=True,
    )
    thread.start()

    def _stop() -> None:
        stop.set()
        thread.join(timeout=10)

    return _stop
