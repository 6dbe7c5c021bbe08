"""Webhook events about invitations: one shape for every event type."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from portal.models import Invitation, Member
from portal.webhooks.service import emit

# DESIGN §3: the API and webhooks use these names.
API_STATUS = {
    "PENDING": "INVITED",
    "ACCEPTED": "LINKED",
    "EXPIRED": "EXPIRED",
    "REVOKED": "REVOKED",
}


def emit_invite_event(
    session: Session,
    event_type: str,
    invitation: Invitation,
    now: datetime,
    member: Member | None = None,
) -> None:
    inviter = session.get(Member, invitation.inviter_id)
    data = {
        "inviteId": invitation.public_id,
        "inviterId": inviter.public_id if inviter else None,
        "email": invitation.email,
        "status": API_STATUS[invitation.status],
    }
    if member is not None:
        data["userId"] = member.public_id
    emit(session, invitation.organization_id, event_type, data, now)
