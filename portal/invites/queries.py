"""Reading invitations for the dashboard: scoped, bucketed, keyset-paginated, one query a list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from portal.invites.service import effective_status
from portal.models import Invitation, InvitationStatus, Member
from portal.policy import invitation_reach
from portal.roles import Role

BUCKETS = ("pending", "accepted", "expired", "revoked")
PAGE_SIZE = 25


def in_scope(actor: Member) -> ColumnElement[bool]:
    """What the actor may see (policy.invitation_reach, as SQL)."""
    return invitation_reach(actor).where(Invitation)


def in_bucket(bucket: str, now: datetime) -> ColumnElement[bool]:
    pending = Invitation.status == InvitationStatus.PENDING
    return {
        "pending": and_(pending, Invitation.expires_at > now),
        "accepted": Invitation.status == InvitationStatus.ACCEPTED,
        "expired": or_(
            Invitation.status == InvitationStatus.EXPIRED,
            and_(pending, Invitation.expires_at <= now),
        ),
        "revoked": Invitation.status == InvitationStatus.REVOKED,
    }[bucket]


@dataclass(frozen=True)
class Row:
    invitation: Invitation
    inviter_name: str
    status: InvitationStatus


@dataclass(frozen=True)
class Page:
    bucket: str
    rows: list[Row]
    next_after: int | None  # the cursor for "Load more", None at the end


@dataclass(frozen=True)
class Filters:
    inviter: str | None = None  # an inviter's public id


def _filtered(actor: Member, filters: Filters) -> ColumnElement[bool]:
    condition = in_scope(actor)
    if filters.inviter:
        condition = and_(condition, Member.public_id == filters.inviter)
    return condition


def list_page(
    session: Session,
    actor: Member,
    bucket: str,
    now: datetime,
    filters: Filters = Filters(),
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    statement = (
        select(Invitation, Member.full_name)
        .join(Member, Member.id == Invitation.inviter_id)
        .where(_filtered(actor, filters), in_bucket(bucket, now))
        .order_by(Invitation.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(Invitation.id < after)
    results = session.exec(statement).all()
    rows = [Row(inv, name, effective_status(inv, now)) for inv, name in results[:limit]]
    next_after = rows[-1].invitation.id if len(results) > limit else None
    return Page(bucket, rows, next_after)


def counts(
    session: Session, actor: Member, now: datetime, filters: Filters = Filters()
) -> dict[str, int]:
    """All four counts in one query."""
    bucket = case(*((in_bucket(name, now), name) for name in BUCKETS), else_="other")
    statement = (
        select(bucket, func.count())
        .select_from(Invitation)
        .join(Member, Member.id == Invitation.inviter_id)
        .where(_filtered(actor, filters))
        .group_by(bucket)
    )
    found = dict(session.exec(statement).all())
    return {name: found.get(name, 0) for name in BUCKETS}


def inviters_in_scope(session: Session, actor: Member) -> list[tuple[str, str]]:
    """(public id, name) of everyone who sent an invitation the actor can see, for the filter."""
    if actor.role_enum is Role.USER:
        return []
    sent = select(Invitation.inviter_id).where(in_scope(actor)).distinct()
    statement = (
        select(Member.public_id, Member.full_name)
        .where(Member.id.in_(sent))
        .order_by(Member.full_name)
    )
    return [(pid, name) for pid, name in session.exec(statement).all()]


def sees_others(actor: Member) -> bool:
    """HR and admins see invitations by others (and an "Invited by" column)."""
    return actor.role_enum is not Role.USER
