"""Reading invitations for the dashboard: scoped, bucketed, keyset-paginated, one query a list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from portal.invites.service import effective_status
from portal.models import (
    ApplicationStatus,
    Invitation,
    InvitationStatus,
    Member,
    MembershipApplication,
    Organization,
    RetiredSecret,
)
from portal.policy import Shape, invitation_reach, reach_condition
from portal.roles import Role

BUCKETS = ("pending", "accepted", "expired", "revoked")
PAGE_SIZE = 25


def in_scope(actor: Member) -> ColumnElement[bool]:
    """What the actor may see (policy.invitation_reach, as SQL)."""
    return invitation_reach(actor).where(Invitation)


def in_bucket(bucket: str, now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
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
    # Joined, and the member's application (adhesion) waits for a decision.
    awaiting_approval: bool = False


@dataclass(frozen=True)
class Page:
    bucket: str
    rows: list[Row]
    next_after: int | None  # the cursor for "Load more", None at the end


@dataclass(frozen=True)
class Filters:
    inviter: str | None = None  # an inviter's public id


# The dashboard's statements are built once per shape (which list, the actor's reach, which
# filters) and run with the request's values as parameters: building one costs more than
# running it. _params gives the values every one of them may name.


def _params(actor: Member, now: datetime, filters: Filters, after: int | None = None) -> dict:
    values: dict[str, Any] = {**invitation_reach(actor).params, "now": now}
    if filters.inviter:
        values["inviter"] = filters.inviter
    if after is not None:
        values["after"] = after
    return values


def _scope(shape: Shape, by_inviter: bool) -> ColumnElement[bool]:
    condition = reach_condition(shape, Invitation)
    if by_inviter:
        inviter = select(Member.id).where(
            Member.public_id == bindparam("inviter"),
            Member.organization_id == bindparam("reach_org"),
        )
        condition = and_(condition, Invitation.inviter_id == inviter.scalar_subquery())
    return condition


@cache
def _list_statement(bucket: str, shape: Shape, by_inviter: bool, paged: bool, limit: int) -> Select:
    # In the same query, on the application's invitation index: one row of the dashboard
    # costs no query of its own.
    awaiting = (
        select(MembershipApplication.id)
        .where(
            MembershipApplication.invitation_id == Invitation.id,
            MembershipApplication.status == ApplicationStatus.PENDING.value,
        )
        .exists()
    )
    statement = (
        select(Invitation, Member.full_name, awaiting.label("awaiting_approval"))
        .join(Member, Member.id == Invitation.inviter_id)
        .where(_scope(shape, by_inviter), in_bucket(bucket, bindparam("now")))
        .order_by(Invitation.id.desc())
        .limit(limit + 1)
    )
    return statement.where(Invitation.id < bindparam("after")) if paged else statement


def list_page(
    session: Session,
    actor: Member,
    bucket: str,
    now: datetime,
    filters: Filters = Filters(),
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    shape = invitation_reach(actor).shape
    statement = _list_statement(bucket, shape, bool(filters.inviter), after is not None, limit)
    results = session.exec(statement, params=_params(actor, now, filters, after)).all()
    rows = [
        Row(inv, name, effective_status(inv, now), bool(awaiting))
        for inv, name, awaiting in results[:limit]
    ]
    next_after = rows[-1].invitation.id if len(results) > limit else None
    return Page(bucket, rows, next_after)


# Counts stop here ("1,000+"): past it the exact number tells a person nothing more, and
# counting every row would make the dashboard slower with every invitation ever sent.
COUNT_CAP = 1000


def _count_parts(bucket: str) -> tuple[tuple[ColumnElement[bool], Any], ...]:
    """A list's rows as conditions, each with the column of the index to stop early on (an
    OR of them would defeat both): an expired list is the swept ones plus those past due
    but not yet swept. Ordering by that column makes the planner walk the index; left to
    itself it guessed a pending row is as likely past due as any row, and read them all."""
    now = bindparam("now")
    pending = Invitation.status == InvitationStatus.PENDING
    if bucket == "pending":
        return ((in_bucket(bucket, now), Invitation.expires_at),)
    if bucket == "expired":
        return (
            (Invitation.status == InvitationStatus.EXPIRED, Invitation.id),
            (and_(pending, Invitation.expires_at <= now), Invitation.expires_at),
        )
    return ((in_bucket(bucket, now), Invitation.id),)


@cache
def _counts_statement(shape: Shape, by_inviter: bool) -> Select:
    scope = _scope(shape, by_inviter)
    columns = []
    for bucket in BUCKETS:
        for n, (part, order) in enumerate(_count_parts(bucket)):
            capped = select(order).where(scope, part).order_by(order).limit(COUNT_CAP + 1)
            counted = select(func.count()).select_from(capped.subquery()).scalar_subquery()
            columns.append(counted.label(f"{bucket}_{n}"))
    return select(*columns)


def counts(
    session: Session, actor: Member, now: datetime, filters: Filters = Filters()
) -> dict[str, int]:
    """The four lists' sizes, each capped just past COUNT_CAP, in one query: its cost is
    the same for a thousand invitations or a million."""
    statement = _counts_statement(invitation_reach(actor).shape, bool(filters.inviter))
    found = session.exec(statement, params=_params(actor, now, filters)).one()._mapping
    return {
        bucket: min(
            COUNT_CAP + 1,
            sum(value for name, value in found.items() if name.rpartition("_")[0] == bucket),
        )
        for bucket in BUCKETS
    }


def count_label(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


@cache
def _inviters_statement(shape: Shape) -> Select:
    sent = select(Invitation.id).where(
        Invitation.inviter_id == Member.id, reach_condition(shape, Invitation)
    )
    return (
        select(Member.public_id, Member.full_name)
        .where(Member.organization_id == bindparam("reach_org"), sent.exists())
        .order_by(Member.full_name)
    )


def inviters_in_scope(session: Session, actor: Member) -> list[tuple[str, str]]:
    """(public id, name) of everyone who sent an invitation the actor can see, for the filter:
    one index probe per member, however many invitations there are."""
    if actor.role_enum is Role.USER:
        return []
    reach = invitation_reach(actor)
    found = session.exec(_inviters_statement(reach.shape), params=reach.params).all()
    return [(pid, name) for pid, name in found]


def sees_others(actor: Member) -> bool:
    """HR and admins see invitations by others (and an "Invited by" column)."""
    return actor.role_enum is not Role.USER


def link_organization(session: Session, secret_digest: str) -> Organization | None:
    """The organisation a link belongs to, whatever became of it (used, revoked, expired or
    replaced by a resend), so its dead-end page still carries that organisation's branding."""
    invitation_id = session.exec(
        select(Invitation.id).where(Invitation.secret_digest == secret_digest)
    ).first()
    if invitation_id is None:
        retired = session.get(RetiredSecret, secret_digest)
        invitation_id = retired.invitation_id if retired else None
    if invitation_id is None:
        return None
    return session.exec(
        select(Organization)
        .join(Invitation, Invitation.organization_id == Organization.id)
        .where(Invitation.id == invitation_id)
    ).first()
