"""Rows into the API's answers (the models in contract.py, which the document describes)."""

from __future__ import annotations

from datetime import datetime

from portal.api import contract
from portal.api.queries import InviteRow, MemberRow
from portal.audit.queries import AuditRow
from portal.invites.events import API_STATUS
from portal.invites.service import effective_status
from portal.models import RewardRule
from portal.rewards.queries import GrantRow
from portal.rewards.service import BenefitRow


def invite_fields(row: InviteRow, now: datetime) -> dict:
    inv = row.invitation
    return {
        "id": inv.public_id,
        "created_at": inv.created_at,
        "updated_at": inv.updated_at,
        "invited_at": inv.sent_at,  # the latest send: a resend moves it
        "linked_at": inv.accepted_at,
        "expires_at": inv.expires_at,
        "full_name": inv.full_name,
        "first_name": inv.first_name,
        "last_name": inv.last_name,
        "email": inv.email,
        "template_id": row.template_id,
        "inviter_id": row.inviter_id,
        "user_id": row.user_id,
        "status": API_STATUS[effective_status(inv, now).value],
        "delivery": contract.Delivery(
            status=inv.delivery_status, last_error=inv.delivery_error or None
        ),
        "reminded_at": inv.reminded_at,
        "source": inv.source,
    }


def invite(row: InviteRow, now: datetime) -> contract.Invite:
    return contract.Invite(**invite_fields(row, now))


def member(row: MemberRow) -> contract.Member:
    m = row.member
    inviter = None
    if row.inviter:
        inviter = contract.Inviter(id=row.inviter[0], full_name=row.inviter[1])
    return contract.Member(
        id=m.public_id,
        email=m.email,
        full_name=m.full_name,
        status=m.status,
        created_at=m.created_at,
        invited_by=inviter,
        invite_id=row.invite_id,
    )


def audit_event(row: AuditRow) -> contract.AuditEvent:
    e = row.event
    actor = None
    if e.actor_id is not None:
        actor = contract.Actor(id=row.actor_public_id, full_name=e.actor_name, email=e.actor_email)
    return contract.AuditEvent(
        id=e.public_id,
        created_at=e.created_at,
        action=e.action,
        actor=actor,
        channel=e.channel,
        api_token_id=e.api_token_id,
        ip=e.ip,
        target=contract.Target(type=e.target_type, id=e.target_id or None, label=e.target_label),
        before=e.before,
        after=e.after,
    )


# --- referral rewards -------------------------------------------------------------------------


def _party_reward(rule: RewardRule, prefix: str, benefits: dict[int, str]) -> dict | None:
    kind = getattr(rule, f"{prefix}_kind")
    if kind == "none":
        return None
    benefit_id = getattr(rule, f"{prefix}_benefit_id")
    return {
        "kind": kind,
        "points": getattr(rule, f"{prefix}_points") if kind == "points" else None,
        "benefit_id": benefits.get(benefit_id) if kind == "benefit" and benefit_id else None,
        "tier": getattr(rule, f"{prefix}_tier") if kind == "tier" else None,
    }


def reward_definition(rule: RewardRule, benefits: dict[int, str]) -> contract.RewardDefinition:
    return contract.RewardDefinition(
        id=rule.public_id,
        name=rule.name,
        trigger=rule.trigger,
        active_days=rule.active_days,
        referrer=_party_reward(rule, "referrer", benefits),
        referee=_party_reward(rule, "referee", benefits),
        monthly_cap=rule.monthly_cap,
        yearly_cap=rule.yearly_cap,
        hold_days=rule.hold_days,
        active_from=rule.active_from,
        active_until=rule.active_until,
        enabled=rule.enabled,
    )


def benefit_definition(row: BenefitRow) -> contract.BenefitDefinition:
    return contract.BenefitDefinition(
        id=row.benefit.public_id,
        name=row.benefit.name,
        description=row.benefit.description,
        uses_codes=row.benefit.uses_codes,
        codes_left=row.free_codes,
    )


def reward_grant(row: GrantRow, now: datetime) -> contract.RewardGrant:
    grant = row.grant
    return contract.RewardGrant(
        id=grant.public_id,
        rule_id=row.rule_public_id,
        invite_id=row.invite_public_id,
        party=grant.party,
        kind=grant.kind,
        points=grant.points,
        benefit_id=row.benefit.public_id if row.benefit else None,
        tier=grant.tier or None,
        code=row.code if row.available(now) else None,
        status=grant.status,
        available_at=grant.available_at,
        created_at=grant.created_at,
    )
