"""Reading invitations and members for the API: one query per page, none per row.

Each invitation comes with the public ids the API shows (inviter, invitee, template) from
joins, and lists are keyset-paginated on id, newest first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from portal.errors import Invalid, NotFound
from portal.invites.queries import in_bucket
from portal.models import EmailTemplate, Invitation, Member

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
# API status name → the dashboard bucket that derives it (expiry included).
STATUS_BUCKETS = {
    "INVITED": "pending",
    "LINKED": "accepted",
    "EXPIRED": "expired",
    "REVOKED": "revoked",
}

Inviter = aliased(Member, name="inviter")
Invitee = aliased(Member, name="invitee")


@dataclass(frozen=True)
class InviteRow:
    invitation: Invitation
    inviter_id: str
    user_id: str | None
    template_id: str | None


@dataclass(frozen=True)
class InviteFilters:
    status: str | None = None  # an API status name
    email: str | None = None  # normalised
    inviter_id: str | None = None  # a member's public id
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class InvitePage:
    rows: list[InviteRow] = field(default_factory=list)
    next_cursor: str | None = None


def _with_ids() -> Select:
    return (
        select(Invitation, Inviter.public_id, Invitee.public_id, EmailTemplate.public_id)
        .join(Inviter, Inviter.id == Invitation.inviter_id)
        .outerjoin(Invitee, Invitee.id == Invitation.member_id)
        .outerjoin(EmailTemplate, EmailTemplate.id == Invitation.template_id)
    )


def encode_cursor(last_id: int, kind: str = "iv") -> str:
    # Opaque on purpose: clients pass it back and never build one, so it can change later.
    # `kind` keeps one list's cursor from being taken by another ("rg": reward grants).
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str = "iv") -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        # ASCII digits only ("²" is a digit to str.isdigit), and short enough for a BIGINT.
        if prefix != kind or not (number.isascii() and number.isdigit()) or len(number) > 18:
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid(
            "This cursor isn't one the API gave out. Pass nextCursor back unchanged.",
            field="cursor",
        ) from exc


def list_invites(
    session: Session,
    organization_id: int,
    filters: InviteFilters,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> InvitePage:
    statement = _with_ids().where(Invitation.organization_id == organization_id)
    if filters.status:
        statement = statement.where(in_bucket(STATUS_BUCKETS[filters.status], now))
    if filters.email:
        statement = statement.where(Invitation.email == filters.email)
    if filters.inviter_id:
        statement = statement.where(Inviter.public_id == filters.inviter_id)
    if filters.created_after:
        statement = statement.where(Invitation.created_at >= filters.created_after)
    if filters.created_before:
        statement = statement.where(Invitation.created_at < filters.created_before)
    if cursor:
        statement = statement.where(Invitation.id < decode_cursor(cursor))
    # One row more than asked tells whether there is a next page, without a count.
    results = session.exec(statement.order_by(Invitation.id.desc()).limit(limit + 1)).all()
    rows = [InviteRow(*result) for result in results[:limit]]
    more = len(results) > limit
    return InvitePage(rows, encode_cursor(rows[-1].invitation.id) if more else None)


def invite_row(session: Session, organization_id: int, invite_public_id: str) -> InviteRow:
    result = session.exec(
        _with_ids().where(
            Invitation.public_id == invite_public_id,
            Invitation.organization_id == organization_id,
        )
    ).first()
    if result is None:
        raise NotFound("There is no invitation with this id in your organisation.")
    return InviteRow(*result)


@dataclass(frozen=True)
class MemberRow:
    member: Member
    inviter: tuple[str, str] | None  # (public id, full name)
    invite_id: str | None


def member_row(session: Session, organization_id: int, member_public_id: str) -> MemberRow:
    result = session.exec(
        select(Member, Inviter.public_id, Inviter.full_name, Invitation.public_id)
        .outerjoin(Inviter, Inviter.id == Member.invited_by_id)
        .outerjoin(Invitation, Invitation.id == Member.invitation_id)
        .where(Member.public_id == member_public_id, Member.organization_id == organization_id)
    ).first()
    if result is None:
        raise NotFound("There is no member with this id in your organisation.")
    member, inviter_id, inviter_name, invite_id = result
    inviter = (inviter_id, inviter_name) if inviter_id else None
    return MemberRow(member, inviter, invite_id)
