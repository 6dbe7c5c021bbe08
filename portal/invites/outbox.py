"""The invitation e-mails as outbox kinds, and the expiry and reminder sweeps as periodic
jobs."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import update
from sqlmodel import Session

from portal.clock import utcnow
from portal.delivery.errors import DeliveryFailed, Obsolete
from portal.delivery.registry import MessageKind, PeriodicJob, Registry
from portal.invites.events import emit_invite_event
from portal.invites.mail import load_batch, render_outbox_email
from portal.invites.reminders import REMINDER_TOPIC, sweep_reminders
from portal.invites.service import effective_status, sweep_expired
from portal.models import DeliveryStatus, Invitation, InvitationStatus, OutboxItem

# Plain Core statements for the per-item bookkeeping: the ORM's bulk-update machinery costs
# more than the database round trip here (measured by bench/delivery.py).
INVITATIONS = Invitation.__table__  # type: ignore[attr-defined]


def _still_wanted(session: Session, item: OutboxItem) -> None:
    # Read afresh (the batch loaded it earlier): a revoke or resend committed while the
    # batch was being sent still stops this e-mail.
    invitation = session.get(Invitation, item.invitation_id, populate_existing=True)
    if (
        invitation is None
        or invitation.send_count != item.payload.get("send_number")
        or effective_status(invitation, utcnow()) is not InvitationStatus.PENDING
    ):
        raise Obsolete("not sent: the invitation was revoked, accepted or resent first")


def _mirror(session: Session, item: OutboxItem, state: DeliveryStatus, error: str) -> bool:
    """Show the e-mail's fate on the invitation row. A resend queues a newer e-mail, so an
    older one finishing late doesn't overwrite it. Returns whether the row was current."""
    changed = (
        session.connection()
        .execute(
            update(INVITATIONS)
            .where(
                INVITATIONS.c.id == item.invitation_id,
                INVITATIONS.c.send_count == item.payload.get("send_number"),
            )
            .values(delivery_status=state.value, delivery_error=error[:500])
        )
        .rowcount
    )
    return changed == 1


def _delivered(app: Flask, session: Session, item: OutboxItem, now: datetime) -> None:
    if _mirror(session, item, DeliveryStatus.SENT, ""):
        invitation = session.get(Invitation, item.invitation_id)
        emit_invite_event(session, "INVITE_INVITED", invitation, now)


def _reminder_delivered(app: Flask, session: Session, item: OutboxItem, now: datetime) -> None:
    # The row shows the reminder's fate, as it does the invitation's: its link is the one
    # that works now. No INVITE_INVITED: the invitation was announced when it was sent.
    _mirror(session, item, DeliveryStatus.SENT, "")


def _failed(
    app: Flask, session: Session, item: OutboxItem, exc: DeliveryFailed, _: datetime
) -> None:
    if not isinstance(exc, Obsolete):
        _mirror(session, item, DeliveryStatus.QUEUED, exc.message)


def _gave_up(
    app: Flask, session: Session, item: OutboxItem, exc: DeliveryFailed, _: datetime
) -> None:
    if not isinstance(exc, Obsolete):
        _mirror(session, item, DeliveryStatus.FAILED, exc.message)


def register(registry: Registry) -> None:
    registry.add_kind(
        MessageKind(
            channel="email",
            topic="invitation",
            prepare=load_batch,
            check=_still_wanted,
            render=render_outbox_email,
            on_delivered=_delivered,
            on_failed=_failed,
            on_gave_up=_gave_up,
        )
    )
    registry.add_kind(
        MessageKind(
            channel="email",
            topic=REMINDER_TOPIC,
            prepare=load_batch,
            check=_still_wanted,
            render=render_outbox_email,
            on_delivered=_reminder_delivered,
            on_failed=_failed,
            on_gave_up=_gave_up,
        )
    )
    for topic in ("invite_accepted", "renewal_request"):
        registry.add_kind(
            MessageKind(
                channel="email", topic=topic, prepare=load_batch, render=render_outbox_email
            )
        )
    registry.add_job(PeriodicJob("invitation expiry", "SWEEP_INTERVAL_SECONDS", sweep_expired))
    registry.add_job(PeriodicJob("invitation reminders", "SWEEP_INTERVAL_SECONDS", sweep_reminders))
