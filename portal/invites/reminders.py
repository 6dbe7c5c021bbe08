"""Reminders (issue 12): one e-mail to a pending invitee some days after their invitation
was sent, queued by the worker's periodic sweep.

The link's secret left the outbox once the first e-mail was sent (DESIGN, "invite_id"), so
a reminder can't repeat it: like Resend it issues a fresh secret (the old link then says a
newer invitation was sent) but keeps the expiry and the sent date, since nobody chose to
give the invitee more time. Only invitations whose e-mail was delivered are reminded: one
that couldn't be delivered waits for a member's Resend, and one still being retried has
not reached anyone yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, update
from sqlmodel import Session, col, select

from portal import sealing
from portal.delivery.outbox import enqueue_email
from portal.invites.service import new_secret
from portal.models import (
    REMINDER_DUE,
    DeliveryStatus,
    Invitation,
    InvitationSettings,
    InvitationSource,
    InvitationStatus,
    RetiredSecret,
)

REMINDER_TOPIC = "invitation_reminder"


def reminder_key(invitation_public_id: str) -> str:
    """The reminder's outbox key: unique, so the outbox itself holds one per invitation."""
    return f"reminder-{invitation_public_id}"


def sweep_reminders(session: Session, now: datetime, limit: int = 200) -> int:
    """Queue the reminder of every invitation that is due one; returns how many. Safe from
    several workers at once and when run twice: each invitation is claimed by a conditional
    UPDATE (`… WHERE reminded_at IS NULL AND status = 'PENDING'`) that only one can pass."""
    organisations = session.exec(
        select(InvitationSettings.organization_id, InvitationSettings.reminder_days)
        # While invitations are off nothing is sent in their name, reminders included
        # (the links already sent keep working until they expire).
        .where(col(InvitationSettings.reminder_days) > 0, col(InvitationSettings.enabled))
        .order_by(InvitationSettings.organization_id)
    ).all()
    reminded = 0
    for organization_id, days in organisations:
        if reminded >= limit:
            break
        reminded += _remind(
            session, organization_id, now - timedelta(days=days), now, limit - reminded
        )
    return reminded


def due_reminders(
    organization_id: int, sent_before: datetime, now: datetime, limit: int
) -> Select[tuple[int, str, str]]:
    """An organisation's invitations due a reminder (served by ix_invitation_reminder_due,
    whose predicate REMINDER_DUE the query repeats)."""
    return (
        select(Invitation.id, Invitation.public_id, Invitation.secret_digest)
        .where(
            Invitation.organization_id == organization_id,
            REMINDER_DUE,
            Invitation.sent_at <= sent_before,
            Invitation.expires_at > now,
            Invitation.delivery_status == DeliveryStatus.SENT,
            Invitation.source == InvitationSource.EMAIL,
        )
        .order_by(Invitation.sent_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _remind(
    session: Session, organization_id: int, sent_before: datetime, now: datetime, limit: int
) -> int:
    due = session.exec(due_reminders(organization_id, sent_before, now, limit)).all()
    count = 0
    for invitation_id, public_id, old_digest in due:
        secret, digest = new_secret()
        # The claim: a second sweep (or a revoke, an accept, a resend) that got there first
        # leaves nothing for this one to match.
        claimed = session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.secret_digest == old_digest,
                Invitation.status == InvitationStatus.PENDING,
                col(Invitation.reminded_at).is_(None),
                Invitation.expires_at > now,
            )
            .values(
                reminded_at=now,
                secret_digest=digest,
                send_count=Invitation.send_count + 1,
                delivery_status=DeliveryStatus.QUEUED.value,
                delivery_error="",
                updated_at=now,
            )
            .returning(Invitation.send_count)
        ).first()
        if claimed is None:
            continue
        session.add(RetiredSecret(digest=old_digest, invitation_id=invitation_id, retired_at=now))
        enqueue_email(
            session,
            REMINDER_TOPIC,
            reminder_key(public_id),
            now,
            organization_id=organization_id,
            invitation_id=invitation_id,
            send_number=claimed[0],
            sealed_secret=sealing.seal(secret),
        )
        count += 1
    return count
