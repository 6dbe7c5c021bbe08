"""Settings → Referral rewards (rules, benefits and their code pools) and Rewards → Review.

Plain functions over a session: no Flask, no commit. Every refusal is a DomainError naming
its field, so the form shows it in place and nothing half-written is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from portal.audit import service as audit
from portal.errors import Conflict, Invalid
from portal.lookups import get_in_org
from portal.models import (
    Benefit,
    BenefitCode,
    GrantStatus,
    Member,
    RewardGrant,
    RewardKind,
    RewardParty,
    RewardRule,
    RewardTrigger,
)
from portal.policy import may_manage_settings, may_review_rewards, require
from portal.rewards import ledger
from portal.validation import check_text

MAX_NAME = 120
MAX_TIER = 60
MAX_POINTS = 1_000_000
MAX_DAYS = 3650
MAX_CODE = 200
MAX_CODES_PER_UPLOAD = 10_000
MAX_NOTE = 1000


@dataclass(frozen=True)
class RewardInput:
    """What one party gets."""

    kind: RewardKind = RewardKind.NONE
    points: int | None = None
    benefit_public_id: str = ""
    tier: str = ""


@dataclass(frozen=True)
class RuleInput:
    name: str
    trigger: RewardTrigger
    referrer: RewardInput
    referee: RewardInput
    active_days: int | None = None
    monthly_cap: int | None = None
    yearly_cap: int | None = None
    hold_days: int | None = None
    active_from: datetime | None = None
    active_until: datetime | None = None


def _name(value: str, field: str, what: str, limit: int) -> str:
    cleaned = (value or "").strip()
    check_text(cleaned, field=field, what=what)
    if len(cleaned) > limit:
        raise Invalid(f"{what} can be at most {limit} characters.", field=field)
    return cleaned


def _cap(value: int | None, field: str, period: str) -> int | None:
    if value is None:
        return None
    if value <= 0:
        raise Invalid(
            f"A cap per {period} must be at least 1 grant (it is {value}). "
            "Leave it empty for no cap.",
            field=field,
        )
    return value


def _days(value: int | None, field: str, what: str, lowest: int) -> int | None:
    if value is None:
        return None
    if not lowest <= value <= MAX_DAYS:
        raise Invalid(f"{what} must be between {lowest} and {MAX_DAYS} days.", field=field)
    return value


def _party_values(
    session: Session, actor: Member, party: RewardParty, reward: RewardInput
) -> dict[str, object]:
    prefix = party.value
    values: dict[str, object] = {
        f"{prefix}_kind": reward.kind.value,
        f"{prefix}_points": None,
        f"{prefix}_benefit_id": None,
        f"{prefix}_tier": "",
    }
    who = "the referrer" if party is RewardParty.REFERRER else "the new member"
    if reward.kind is RewardKind.POINTS:
        if reward.points is None or not 1 <= reward.points <= MAX_POINTS:
            raise Invalid(
                f"Enter how many points {who} gets (1 to {MAX_POINTS:,}).",
                field=f"{prefix}_points",
            )
        values[f"{prefix}_points"] = reward.points
    elif reward.kind is RewardKind.BENEFIT:
        if not reward.benefit_public_id:
            raise Invalid(f"Choose the benefit {who} gets.", field=f"{prefix}_benefit")
        benefit = session.exec(
            select(Benefit).where(
                Benefit.organization_id == actor.organization_id,
                Benefit.public_id == reward.benefit_public_id,
            )
        ).first()
        if benefit is None:
            raise Invalid("There is no such benefit.", field=f"{prefix}_benefit")
        values[f"{prefix}_benefit_id"] = benefit.id
    elif reward.kind is RewardKind.TIER:
        tier = _name(reward.tier, f"{prefix}_tier", "A tier name", MAX_TIER)
        if not tier:
            raise Invalid(f"Enter the tier {who} reaches.", field=f"{prefix}_tier")
        values[f"{prefix}_tier"] = tier
    return values


RULE_FIELDS = (
    "name",
    "trigger",
    "active_days",
    "referrer_kind",
    "referrer_points",
    "referrer_benefit_id",
    "referrer_tier",
    "referee_kind",
    "referee_points",
    "referee_benefit_id",
    "referee_tier",
    "monthly_cap",
    "yearly_cap",
    "hold_days",
    "active_from",
    "active_until",
    "enabled",
)


def _rule_values(session: Session, actor: Member, values: RuleInput) -> dict[str, object]:
    """The rule's columns from `values`, or Invalid on the first problem: one set of rules
    for creating and editing."""
    name = _name(values.name, "name", "A rule name", MAX_NAME)
    if not name:
        raise Invalid("Give the rule a name, such as “Welcome bonus”.", field="name")
    active_days = None
    if values.trigger is RewardTrigger.ACTIVE_DAYS:
        if values.active_days is None:
            raise Invalid(
                "Enter how many days the new member must stay active.", field="active_days"
            )
        active_days = _days(values.active_days, "active_days", "The active period", 1)
    referrer = _party_values(session, actor, RewardParty.REFERRER, values.referrer)
    referee = _party_values(session, actor, RewardParty.REFEREE, values.referee)
    if values.referrer.kind is RewardKind.NONE and values.referee.kind is RewardKind.NONE:
        raise Invalid(
            "Choose a reward for the referrer, the new member, or both.", field="referrer_kind"
        )
    monthly = _cap(values.monthly_cap, "monthly_cap", "month")
    yearly = _cap(values.yearly_cap, "yearly_cap", "year")
    if monthly is not None and yearly is not None and yearly < monthly:
        raise Invalid(
            f"The yearly cap ({yearly}) can't be below the monthly cap ({monthly}).",
            field="yearly_cap",
        )
    hold = _days(values.hold_days, "hold_days", "The hold period", 0) or 0
    if (
        values.active_from is not None
        and values.active_until is not None
        and values.active_until <= values.active_from
    ):
        raise Invalid("The end date must be after the start date.", field="active_until")
    return {
        "name": name,
        "trigger": values.trigger.value,
        "active_days": active_days,
        "monthly_cap": monthly,
        "yearly_cap": yearly,
        "hold_days": hold,
        "active_from": values.active_from,
        "active_until": values.active_until,
        **referrer,
        **referee,
    }


def create_rule(session: Session, actor: Member, values: RuleInput, now: datetime) -> RewardRule:
    require(may_manage_settings(actor))
    rule = RewardRule(
        organization_id=actor.organization_id,
        created_at=now,
        updated_at=now,
        **_rule_values(session, actor, values),  # type: ignore[arg-type]
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor,
        "reward_rule.created",
        _rule_target(rule),
        after=audit.snapshot(rule, RULE_FIELDS),
        now=now,
    )
    return rule


def update_rule(
    session: Session, actor: Member, rule: RewardRule, values: RuleInput, now: datetime
) -> RewardRule:
    """Edit a rule with the rules of creation. Grants already in the ledger stay as they
    were written (it is history); the rule as edited decides the joins processed from now
    on, and its caps keep counting the grants this rule already made in the month or year,
    whatever the cap was then."""
    require(may_manage_settings(actor))
    changes = _rule_values(session, actor, values)
    before = audit.snapshot(rule, RULE_FIELDS)
    for name, value in changes.items():
        setattr(rule, name, value)
    after = audit.snapshot(rule, RULE_FIELDS)
    if after == before:
        return rule  # saved unchanged: nothing to log
    rule.updated_at = now
    session.add(rule)
    audit.record(
        session,
        actor,
        "reward_rule.updated",
        _rule_target(rule),
        before=before,
        after=after,
        now=now,
    )
    return rule


def _rule_target(rule: RewardRule) -> audit.Target:
    return audit.Target("reward_rule", rule.public_id, rule.name)


def list_rules(session: Session, actor: Member) -> list[RewardRule]:
    require(may_manage_settings(actor))
    return list(
        session.exec(
            select(RewardRule)
            .where(RewardRule.organization_id == actor.organization_id)
            .order_by(RewardRule.id)
        ).all()
    )


def get_rule(session: Session, actor: Member, public_id: str) -> RewardRule:
    require(may_manage_settings(actor))
    return get_in_org(session, RewardRule, actor.organization_id, public_id)


def set_rule_enabled(
    session: Session, actor: Member, rule: RewardRule, enabled: bool, now: datetime
) -> RewardRule:
    require(may_manage_settings(actor))
    if rule.enabled == enabled:
        return rule
    rule.enabled = enabled
    rule.updated_at = now
    session.add(rule)
    audit.record(
        session,
        actor,
        "reward_rule.enabled" if enabled else "reward_rule.disabled",
        _rule_target(rule),
        before={"enabled": not enabled},
        after={"enabled": enabled},
        now=now,
    )
    return rule


# --- benefits and their code pools --------------------------------------------------------


def parse_codes(text: str) -> list[str]:
    """One code a line. Blank lines and duplicates are refused with the line they are on,
    so an admin can fix the file rather than guess which codes were kept."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()  # a final line break (or several) is how files end, not a blank code
    seen: dict[str, int] = {}
    codes = []
    for number, line in enumerate(lines, start=1):
        code = line.strip()
        if not code:
            raise Invalid(
                f"Line {number} is blank. Put one code on each line, with no empty lines.",
                field="codes",
            )
        check_text(code, field="codes", what=f"The code on line {number}")
        if len(code) > MAX_CODE:
            raise Invalid(
                f"The code on line {number} is longer than {MAX_CODE} characters.", field="codes"
            )
        if code in seen:
            raise Invalid(
                f"“{code}” is on line {seen[code]} and again on line {number}. "
                "Each code can be handed out only once: remove the duplicate.",
                field="codes",
            )
        seen[code] = number
        codes.append(code)
    if len(codes) > MAX_CODES_PER_UPLOAD:
        raise Invalid(
            f"Add at most {MAX_CODES_PER_UPLOAD:,} codes at a time (there are {len(codes):,}).",
            field="codes",
        )
    return codes


def create_benefit(
    session: Session,
    actor: Member,
    *,
    name: str,
    description: str,
    codes: str,
    now: datetime,
) -> Benefit:
    require(may_manage_settings(actor))
    name = _name(name, "benefit_name", "A benefit name", MAX_NAME)
    if not name:
        raise Invalid("Give the benefit a name, such as “Free month”.", field="benefit_name")
    description = _name(description, "description", "A description", 500)
    taken = session.exec(
        select(Benefit.id).where(
            Benefit.organization_id == actor.organization_id, Benefit.name == name
        )
    ).first()
    if taken is not None:
        raise Invalid(f"There is already a benefit called “{name}”.", field="benefit_name")
    pool = parse_codes(codes)
    benefit = Benefit(
        organization_id=actor.organization_id,
        name=name,
        description=description,
        uses_codes=bool(pool),
        created_at=now,
    )
    session.add(benefit)
    session.flush()
    audit.record(
        session,
        actor,
        "benefit.created",
        _benefit_target(benefit),
        after={
            **audit.snapshot(benefit, ("name", "description", "uses_codes")),
            "codes": len(pool),
        },
        now=now,
    )
    _add_codes(session, benefit, pool, now)
    return benefit


def _benefit_target(benefit: Benefit) -> audit.Target:
    return audit.Target("benefit", benefit.public_id, benefit.name)


def _add_codes(session: Session, benefit: Benefit, codes: list[str], now: datetime) -> None:
    for code in codes:
        session.add(BenefitCode(benefit_id=benefit.id, code=code, created_at=now))
    session.flush()


def add_codes(session: Session, actor: Member, benefit: Benefit, codes: str, now: datetime) -> int:
    """Add codes to a benefit's pool; grants waiting for one are issued at once."""
    require(may_manage_settings(actor))
    pool = parse_codes(codes)
    if not pool:
        raise Invalid("Paste at least one code, one a line.", field="codes")
    existing = set(
        session.exec(
            select(BenefitCode.code).where(
                BenefitCode.benefit_id == benefit.id, col(BenefitCode.code).in_(pool)
            )
        ).all()
    )
    if existing:
        first = next(code for code in pool if code in existing)
        raise Invalid(
            f"“{first}” is already in this benefit's pool"
            + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + ". Each code can be handed out only once: remove it and try again.",
            field="codes",
        )
    _add_codes(session, benefit, pool, now)
    benefit.uses_codes = True
    session.add(benefit)
    audit.record(
        session,
        actor,
        "benefit.codes_added",
        _benefit_target(benefit),
        after={"codes": len(pool)},
        now=now,
    )
    return ledger.fill_pending(session, now, benefit_id=benefit.id)


def get_benefit(session: Session, actor: Member, public_id: str) -> Benefit:
    require(may_manage_settings(actor))
    return get_in_org(session, Benefit, actor.organization_id, public_id)


@dataclass(frozen=True)
class BenefitRow:
    benefit: Benefit
    free_codes: int
    pending_grants: int  # waiting for a code: the settings screen's warning


def list_benefits(session: Session, organization_id: int) -> list[BenefitRow]:
    benefits = session.exec(
        select(Benefit).where(Benefit.organization_id == organization_id).order_by(Benefit.name)
    ).all()
    ids = [b.id for b in benefits]
    free = (
        dict(
            session.exec(
                select(BenefitCode.benefit_id, func.count())
                .where(col(BenefitCode.benefit_id).in_(ids), col(BenefitCode.grant_id).is_(None))
                .group_by(BenefitCode.benefit_id)
            ).all()
        )
        if ids
        else {}
    )
    pending = dict(
        session.exec(
            select(RewardGrant.benefit_id, func.count())
            .where(
                RewardGrant.organization_id == organization_id,
                RewardGrant.status == GrantStatus.PENDING.value,
            )
            .group_by(RewardGrant.benefit_id)
        ).all()
    )
    return [BenefitRow(b, free.get(b.id, 0), pending.get(b.id, 0)) for b in benefits]


# --- Rewards → Review ---------------------------------------------------------------------


def get_held(session: Session, actor: Member, public_id: str) -> RewardGrant:
    grant = get_in_org(session, RewardGrant, actor.organization_id, public_id)
    require(may_review_rewards(actor, grant))
    return grant


def decide(
    session: Session,
    actor: Member,
    grant: RewardGrant,
    *,
    approve: bool,
    note: str,
    now: datetime,
) -> RewardGrant:
    """Approve (the grant is issued now) or deny a held grant, with the reviewer's note."""
    require(may_review_rewards(actor, grant))
    note = (note or "").replace("\r\n", "\n").strip()
    check_text(note, field="note", what="The note", multiline=True)
    if len(note) > MAX_NOTE:
        raise Invalid(f"The note can be at most {MAX_NOTE:,} characters.", field="note")
    if not approve and not note:
        raise Invalid("Say why the reward is denied: the note is kept with it.", field="note")
    if grant.status != GrantStatus.HELD:
        raise Conflict("This reward was already reviewed.")
    grant.review_note = note
    grant.reviewed_by_id = actor.id
    grant.updated_at = now
    if approve:
        # The hold period, if any, still runs from the join.
        ledger.issue(session, grant, now)
    else:
        grant.status = GrantStatus.DENIED.value
        session.add(grant)
    audit.record(
        session,
        actor,
        "reward.approved" if approve else "reward.denied",
        audit.Target("reward", grant.public_id, f"{grant.kind} for {grant.party}"),
        before={"status": GrantStatus.HELD.value},
        after={"status": grant.status, "note": note},
        now=now,
    )
    return grant
