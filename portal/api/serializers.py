"""The API's JSON shapes. The OpenAPI document (openapi.py) describes exactly these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.api.queries import InviteRow, MemberRow
from portal.audit.queries import AuditRow
from portal.invites.events import API_STATUS
from portal.invites.service import effective_status
from portal.webhooks.service import rfc3339


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as the webhooks write it: one format across the API."""
    return rfc3339(moment) if moment else None


def invite(row: InviteRow, now: datetime) -> dict[str, Any]:
    inv = row.invitation
    return {
        "id": inv.public_id,
        "createdAt": timestamp(inv.created_at),
        "updatedAt": timestamp(inv.updated_at),
        "invitedAt": timestamp(inv.sent_at),  # the latest send: a resend moves it
        "linkedAt": timestamp(inv.accepted_at),
        "expiresAt": timestamp(inv.expires_at),
        "fullName": inv.full_name,
        "firstName": inv.first_name,
        "lastName": inv.last_name,
        "email": inv.email,
        "templateId": row.template_id,
        "inviterId": row.inviter_id,
        "userId": row.user_id,
        "status": API_STATUS[effective_status(inv, now).value],
        "delivery": {"status": inv.delivery_status, "lastError": inv.delivery_error or None},
    }


def member(row: MemberRow) -> dict[str, Any]:
    m = row.member
    return {
        "id": m.public_id,
        "email": m.email,
        "fullName": m.full_name,
        "status": m.status,
        "createdAt": timestamp(m.created_at),
        "invitedBy": {"id": row.inviter[0], "fullName": row.inviter[1]} if row.inviter else None,
        "inviteId": row.invite_id,
    }


def audit_event(row: AuditRow) -> dict[str, Any]:
    e = row.event
    actor = None
    if e.actor_id is not None:
        actor = {"id": row.actor_public_id, "fullName": e.actor_name, "email": e.actor_email}
    return {
        "id": e.public_id,
        "createdAt": timestamp(e.created_at),
        "action": e.action,
        "actor": actor,
        "channel": e.channel,
        "apiTokenId": e.api_token_id,
        "ip": e.ip,
        "target": {"type": e.target_type, "id": e.target_id or None, "label": e.target_label},
        "before": e.before,
        "after": e.after,
    }
