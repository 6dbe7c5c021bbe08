"""What My rewards and Rewards → Review show: a few queries per page, whatever the size.

Lists are keyset-paginated on the grant id (newest first), served by ix_reward_grant_member_id
and ix_reward_grant_org_status_id. No Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from portal.models import (
    Benefit,
    BenefitCode,
    GrantStatus,
    Invitation,
    InvitationStatus,
    Member,
    RewardGrant,
    RewardRule,
)
from portal.policy import oversight

PAGE_SIZE = 20


@dataclass(frozen=True)
class GrantRow:
    grant: RewardGrant
    rule_name: str
    benefit: Benefit | None
    code: str | None
    rule_public_id: str = ""
    invite_public_id: str = ""

    def available(self, now: datetime) -> bool:
        return self.grant.status == GrantStatus.ISSUED and (
            self.grant.available_at is None or self.grant.available_at <= now
        )


@dataclass(frozen=True)
class Page:
    rows: list[GrantRow]
    next_before: int | None  # the keyset for the next page, None on the last


def _rows(session: Session, where: list[ColumnElement[bool]], limit: int) -> Page:
    """Grants matching `where`, newest first, with their rule's name, benefit and code: one
    query for the page."""
    found = session.exec(
        select(
            RewardGrant,
            RewardRule.name,
            Benefit,
            BenefitCode.code,
            RewardRule.public_id,
            Invitation.public_id,
        )
        .where(*where)
        .join(RewardRule, RewardRule.id == RewardGrant.rule_id)
        .join(Invitation, Invitation.id == RewardGrant.invitation_id)
        .outerjoin(Benefit, Benefit.id == RewardGrant.benefit_id)
        .outerjoin(BenefitCode, BenefitCode.grant_id == RewardGrant.id)
        .order_by(col(RewardGrant.id).desc())
        .limit(limit + 1)
    ).all()
    rows = [GrantRow(*row) for row in found]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].grant.id if more and rows else None)


# Statuses a member sees in their history: not the decisions that gave them nothing.
VISIBLE = (
    GrantStatus.ISSUED,
    GrantStatus.PENDING,
    GrantStatus.HELD,
    GrantStatus.DENIED,
    GrantStatus.REVOKED,
)


def history(
    session: Session, member: Member, before: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    where = [
        RewardGrant.member_id == member.id,
        RewardGrant.organization_id == member.organization_id,
        col(RewardGrant.status).in_([s.value for s in VISIBLE]),
    ]
    if before is not None:
        where.append(col(RewardGrant.id) < before)
    return _rows(session, where, limit)


@dataclass(frozen=True)
class Summary:
    points: int  # available now
    points_on_hold: int  # issued, in their hold period
    benefits: list[GrantRow]  # issued or waiting for a code
    tiers: list[str]
    brought: int  # members who joined through this member's invitations


def summary(session: Session, member: Member, now: datetime) -> Summary:
    issued = (
        RewardGrant.member_id == member.id,
        RewardGrant.organization_id == member.organization_id,
        RewardGrant.status == GrantStatus.ISSUED.value,
    )
    available = session.exec(
        select(func.coalesce(func.sum(RewardGrant.points), 0)).where(
            *issued, col(RewardGrant.available_at) <= now
        )
    ).one()
    on_hold = session.exec(
        select(func.coalesce(func.sum(RewardGrant.points), 0)).where(
            *issued, col(RewardGrant.available_at) > now
        )
    ).one()
    benefits = _rows(
        session,
        [
            RewardGrant.member_id == member.id,
            RewardGrant.organization_id == member.organization_id,
            col(RewardGrant.benefit_id).is_not(None),
            col(RewardGrant.status).in_([GrantStatus.ISSUED.value, GrantStatus.PENDING.value]),
        ],
        100,
    ).rows
    tiers = session.exec(
        select(RewardGrant.tier)
        .where(*issued, RewardGrant.tier != "", col(RewardGrant.available_at) <= now)
        .order_by(col(RewardGrant.id).desc())
    ).all()
    brought = session.exec(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.inviter_id == member.id,
            Invitation.organization_id == member.organization_id,
            Invitation.status == InvitationStatus.ACCEPTED.value,
        )
    ).one()
    return Summary(int(available), int(on_hold), benefits, list(dict.fromkeys(tiers)), brought)


@dataclass(frozen=True)
class HeldRow:
    row: GrantRow
    member: Member
    referrer: Member
    invitee: Member


def held_for_review(
    session: Session, actor: Member, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[HeldRow], int | None]:
    """Held grants in the actor's oversight (their unit, or the organisation)."""
    where = [oversight(actor).where(RewardGrant), RewardGrant.status == GrantStatus.HELD.value]
    if before is not None:
        where.append(col(RewardGrant.id) < before)
    page = _rows(session, where, limit)
    ids = (
        {r.grant.member_id for r in page.rows}
        | {r.grant.referrer_id for r in page.rows}
        | {r.grant.invitee_id for r in page.rows}
    )
    members = (
        {m.id: m for m in session.exec(select(Member).where(col(Member.id).in_(ids))).all()}
        if ids
        else {}
    )
    return [
        HeldRow(
            r, members[r.grant.member_id], members[r.grant.referrer_id], members[r.grant.invitee_id]
        )
        for r in page.rows
    ], page.next_before


def held_row(session: Session, grant: RewardGrant) -> HeldRow:
    """One held grant with what the review page shows about it."""
    page = _rows(session, [RewardGrant.id == grant.id], 1)
    ids = {grant.member_id, grant.referrer_id, grant.invitee_id}
    members = {m.id: m for m in session.exec(select(Member).where(col(Member.id).in_(ids)))}
    return HeldRow(
        page.rows[0],
        members[grant.member_id],
        members[grant.referrer_id],
        members[grant.invitee_id],
    )


def rules_of(session: Session, organization_id: int) -> list[RewardRule]:
    return list(
        session.exec(
            select(RewardRule)
            .where(RewardRule.organization_id == organization_id)
            .order_by(RewardRule.id)
        ).all()
    )
