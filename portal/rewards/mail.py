"""The reward e-mail ("you received a referral reward"), rendered by the outbox worker."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from sqlmodel import Session

from portal.delivery.message import RenderedEmail, render_email
from portal.models import Benefit, Member, Organization, OutboxItem, RewardGrant, RewardRule
from portal.rewards.ledger import code_of
from portal.text import day


def describe(grant: RewardGrant, benefit: Benefit | None) -> str:
    """The reward in words, as the e-mail and My rewards say it."""
    if grant.kind == "points":
        return f"{grant.points:,} points"
    if grant.kind == "benefit":
        return benefit.name if benefit else "a benefit"
    return f"the {grant.tier} tier"


def render_reward_email(
    session: Session,
    env: Environment,
    item: OutboxItem,
    base_url: str,
    secret: str | None,
    prepared: Any = None,
) -> RenderedEmail:
    grant = session.get(RewardGrant, item.payload["grant_id"])
    assert grant is not None
    member = session.get(Member, grant.member_id)
    org = session.get(Organization, grant.organization_id)
    rule = session.get(RewardRule, grant.rule_id)
    benefit = session.get(Benefit, grant.benefit_id) if grant.benefit_id else None
    assert member is not None and org is not None and rule is not None
    reward = describe(grant, benefit)
    subject = f"You received a referral reward from {org.name}: {reward}"
    available_later = (
        grant.available_at is not None
        and not grant.settled
        and grant.available_at > grant.created_at
    )
    context = {
        "org": org,
        "member": member,
        "reward": reward,
        "why": "for inviting a new member"
        if grant.party == "referrer"
        else "for joining through an invitation",
        "code": code_of(session, grant) if not available_later else None,
        "available_on": day(grant.available_at) if available_later and grant.available_at else None,
        "rewards_url": f"{base_url}/rewards",
    }
    return render_email(env, "reward_issued", member.email, subject, **context)
