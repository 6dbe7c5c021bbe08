"""Building rules and joins for the rewards tests in one line each."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import Member, RewardGrant, RewardKind, RewardRule, RewardTrigger
from portal.rewards import service as rewards
from portal.rewards.service import RewardInput, RuleInput
from tests.unit.test_invites_service import secret_of


def points(n: int) -> RewardInput:
    return RewardInput(kind=RewardKind.POINTS, points=n)


NOTHING = RewardInput()


def make_rule(
    session: Session,
    admin: Member,
    *,
    referrer: RewardInput = NOTHING,
    referee: RewardInput = NOTHING,
    trigger: RewardTrigger = RewardTrigger.JOINED,
    now: datetime | None = None,
    **extra: object,
) -> RewardRule:
    if referrer == NOTHING and referee == NOTHING:
        referrer = points(100)
    rule = rewards.create_rule(
        session,
        admin,
        RuleInput(name="Welcome", trigger=trigger, referrer=referrer, referee=referee, **extra),  # type: ignore[arg-type]
        now or utcnow(),
    )
    session.commit()
    return rule


def join(
    session: Session,
    inviter: Member,
    email: str,
    now: datetime | None = None,
    device_digest: str | None = None,
) -> Member:
    """`email` is invited by `inviter` and joins through the link, all at `now`."""
    now = now or utcnow()
    invitation = invites.send_invitation(session, inviter, email=email, now=now).invitation
    session.commit()
    member = invites.accept(
        session,
        invites.digest(secret_of(session, invitation)),
        email=email,
        full_name="New Member",
        password="long password",
        now=now,
        device_digest=device_digest,
    )
    session.commit()
    return member


def grants(session: Session, **where: object) -> list[RewardGrant]:
    query = select(RewardGrant).order_by(RewardGrant.id)
    for name, value in where.items():
        query = query.where(getattr(RewardGrant, name) == value)
    return list(session.exec(query).all())
