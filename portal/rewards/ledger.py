"""The grant ledger: deciding and writing grants, exactly once per (rule, invitation, party).

The unique index uq_reward_grant_once is what makes it exactly once: each grant is
inserted in a savepoint, and a second insert for the same triple (the trigger processed
twice, or by two workers at once) fails there and is skipped, whatever the timing. On
PostgreSQL the second insert waits for the first transaction and then fails, so no reward
is written twice, and none is lost when the first rolls back.

Plain functions over a session: no Flask, no commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from portal.applications.hooks import Approved
from portal.delivery.outbox import enqueue_email
from portal.invites import hooks
from portal.models import (
    Benefit,
    BenefitCode,
    GrantStatus,
    Invitation,
    InvitationStatus,
    Member,
    RewardGrant,
    RewardKind,
    RewardParty,
    RewardRule,
    RewardTrigger,
)
from portal.rewards import fraud
from portal.roles import MemberStatus
from portal.webhooks.service import emit, rfc3339

# Grants that count against a referrer's cap: what they were given or may still be given.
COUNTED = (GrantStatus.ISSUED, GrantStatus.PENDING, GrantStatus.HELD)
SWEEP_BATCH = 200


# --- calendar periods (UTC) --------------------------------------------------------------


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def year_start(moment: datetime) -> datetime:
    return month_start(moment).replace(month=1)


# --- which rules apply -------------------------------------------------------------------


def rules_for(
    session: Session, organization_id: int, trigger: RewardTrigger, joined_at: datetime
) -> list[RewardRule]:
    """The organisation's switched-on rules for `trigger` whose active dates hold the join."""
    rules = session.exec(
        select(RewardRule)
        .where(
            RewardRule.organization_id == organization_id,
            RewardRule.trigger == trigger.value,
            RewardRule.enabled,
        )
        .order_by(RewardRule.id)
    ).all()
    return [rule for rule in rules if in_force(rule, joined_at)]


def in_force(rule: RewardRule, moment: datetime) -> bool:
    if rule.active_from is not None and moment < rule.active_from:
        return False
    return rule.active_until is None or moment < rule.active_until


def _reward(rule: RewardRule, party: RewardParty) -> tuple[RewardKind, int, int | None, str]:
    prefix = party.value
    kind = RewardKind(getattr(rule, f"{prefix}_kind"))
    return (
        kind,
        getattr(rule, f"{prefix}_points") or 0 if kind is RewardKind.POINTS else 0,
        getattr(rule, f"{prefix}_benefit_id") if kind is RewardKind.BENEFIT else None,
        getattr(rule, f"{prefix}_tier") if kind is RewardKind.TIER else "",
    )


# --- granting ----------------------------------------------------------------------------


def on_invitation_accepted(event: hooks.Accepted) -> None:
    """The "joins" trigger, inside the accepting transaction (portal.invites.hooks)."""
    fraud.record_device(event.session, event.member, event.device_digest, event.now)
    grant_for_invitation(
        event.session, event.invitation, event.member, RewardTrigger.JOINED, event.now
    )


def on_application_approved(event: Approved) -> None:
    """The "approved" trigger (adhesion), inside the deciding transaction
    (portal.applications.hooks). Open registration has no invitation, so no referrer."""
    if event.invitation is not None:
        grant_for_invitation(
            event.session, event.invitation, event.member, RewardTrigger.APPROVED, event.now
        )


def grant_for_invitation(
    session: Session,
    invitation: Invitation,
    invitee: Member,
    trigger: RewardTrigger,
    now: datetime,
    rules: Iterable[RewardRule] | None = None,
) -> list[RewardGrant]:
    """Write the grants `trigger` earns for this accepted invitation; the ones written now."""
    assert invitation.accepted_at is not None
    if rules is None:
        rules = rules_for(session, invitation.organization_id, trigger, invitation.accepted_at)
    written = []
    for rule in rules:
        for party in RewardParty:
            if _reward(rule, party)[0] is RewardKind.NONE:
                continue
            grant = _grant_once(session, rule, invitation, invitee, party, now)
            if grant is not None:
                written.append(grant)
    return written


def _grant_once(
    session: Session,
    rule: RewardRule,
    invitation: Invitation,
    invitee: Member,
    party: RewardParty,
    now: datetime,
) -> RewardGrant | None:
    referrer = session.get(Member, invitation.inviter_id)
    assert referrer is not None
    recipient = referrer if party is RewardParty.REFERRER else invitee
    kind, points, benefit_id, tier = _reward(rule, party)
    if party is RewardParty.REFERRER:
        _lock(session, referrer)  # two joins for one referrer at once: one counts at a time
    status, found = _decide(session, rule, referrer, invitee, recipient, party, now)
    grant = RewardGrant(
        organization_id=invitation.organization_id,
        unit_id=invitation.unit_id,
        rule_id=rule.id,
        invitation_id=invitation.id,
        party=party.value,
        member_id=recipient.id,
        referrer_id=referrer.id,
        invitee_id=invitee.id,
        kind=kind.value,
        points=points,
        benefit_id=benefit_id,
        tier=tier,
        status=status.value,
        signals=found,
        available_at=now + timedelta(days=rule.hold_days),
        settled=rule.hold_days == 0,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(grant)
            session.flush()
    except IntegrityError:
        return None  # granted already, by an earlier run or a concurrent one
    if status is GrantStatus.ISSUED:
        issue(session, grant, now)
    elif status is GrantStatus.HELD:
        emit_grant_event(session, "REWARD_HELD", grant, now)
    return grant


def _lock(session: Session, member: Member) -> None:
    """Serialise cap counting per referrer (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Member.id).where(Member.id == member.id).with_for_update()).one()


def _decide(
    session: Session,
    rule: RewardRule,
    referrer: Member,
    invitee: Member,
    recipient: Member,
    party: RewardParty,
    now: datetime,
) -> tuple[GrantStatus, list[str]]:
    if recipient.status != MemberStatus.ACTIVE:
        return GrantStatus.SKIPPED, []
    if party is RewardParty.REFERRER and cap_reached(session, rule, referrer, now):
        return GrantStatus.CAPPED, []
    found = fraud.signals(session, referrer, invitee)
    if found:
        return GrantStatus.HELD, found
    return GrantStatus.ISSUED, []


def referrer_grants_since(
    session: Session, rule: RewardRule, referrer: Member, since: datetime
) -> int:
    return session.exec(
        select(func.count())
        .select_from(RewardGrant)
        .where(
            RewardGrant.rule_id == rule.id,
            RewardGrant.referrer_id == referrer.id,
            RewardGrant.party == RewardParty.REFERRER.value,
            RewardGrant.created_at >= since,
            col(RewardGrant.status).in_([s.value for s in COUNTED]),
        )
    ).one()


def cap_reached(session: Session, rule: RewardRule, referrer: Member, now: datetime) -> bool:
    """Caps count the referrer's grants of this rule in the calendar month / year (UTC)."""
    if rule.monthly_cap is not None and (
        referrer_grants_since(session, rule, referrer, month_start(now)) >= rule.monthly_cap
    ):
        return True
    return rule.yearly_cap is not None and (
        referrer_grants_since(session, rule, referrer, year_start(now)) >= rule.yearly_cap
    )


def issue(session: Session, grant: RewardGrant, now: datetime) -> bool:
    """Hand the grant over: a code from the pool when its benefit has one (else it stays
    pending, and the settings screen warns the admins), REWARD_ISSUED, and an e-mail."""
    if grant.benefit_id is not None:
        benefit = session.get(Benefit, grant.benefit_id)
        if benefit is not None and benefit.uses_codes and not _take_code(session, grant):
            grant.status = GrantStatus.PENDING.value
            grant.updated_at = now
            session.add(grant)
            return False
    grant.status = GrantStatus.ISSUED.value
    grant.updated_at = now
    session.add(grant)
    session.flush()
    emit_grant_event(session, "REWARD_ISSUED", grant, now)
    enqueue_email(
        session,
        "reward_issued",
        f"reward-{grant.public_id}",
        now,
        organization_id=grant.organization_id,
        grant_id=grant.id,
    )
    return True


def _take_code(session: Session, grant: RewardGrant) -> bool:
    """One free code of the grant's benefit, claimed by a conditional update so that two
    grants never get the same code (a loser tries the next free one)."""
    codes = BenefitCode.__table__  # type: ignore[attr-defined]
    for _attempt in range(5):
        query = (
            select(BenefitCode.id)
            .where(BenefitCode.benefit_id == grant.benefit_id, col(BenefitCode.grant_id).is_(None))
            .order_by(BenefitCode.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        code_id = session.exec(query).first()
        if code_id is None:
            return False
        claimed = session.connection().execute(
            update(codes)
            .where(codes.c.id == code_id, codes.c.grant_id.is_(None))
            .values(grant_id=grant.id)
        )
        if claimed.rowcount == 1:
            return True
    return False


def code_of(session: Session, grant: RewardGrant) -> str | None:
    return session.exec(select(BenefitCode.code).where(BenefitCode.grant_id == grant.id)).first()


def revoke(session: Session, grant: RewardGrant, now: datetime) -> None:
    """Claw back an issued grant within its hold period; its code, never shown, goes back."""
    grant.status = GrantStatus.REVOKED.value
    grant.settled = True
    grant.updated_at = now
    session.add(grant)
    session.execute(
        update(BenefitCode).where(BenefitCode.grant_id == grant.id).values(grant_id=None)
    )
    emit_grant_event(session, "REWARD_REVOKED", grant, now)


def emit_grant_event(session: Session, event_type: str, grant: RewardGrant, now: datetime) -> None:
    """REWARD_ISSUED / REWARD_HELD / REWARD_REVOKED in the DESIGN §7 envelope."""
    rule = session.get(RewardRule, grant.rule_id)
    invitation = session.get(Invitation, grant.invitation_id)
    member = session.get(Member, grant.member_id)
    referrer = session.get(Member, grant.referrer_id)
    benefit = session.get(Benefit, grant.benefit_id) if grant.benefit_id else None
    assert rule is not None and invitation is not None and member is not None
    emit(
        session,
        grant.organization_id,
        event_type,
        {
            "rewardId": grant.public_id,
            "ruleId": rule.public_id,
            "inviteId": invitation.public_id,
            "userId": member.public_id,
            "inviterId": referrer.public_id if referrer else None,
            "party": grant.party,
            "kind": grant.kind,
            "points": grant.points,
            "benefitId": benefit.public_id if benefit else None,
            "tier": grant.tier or None,
            "status": grant.status,
            "signals": list(grant.signals),
            "availableAt": rfc3339(grant.available_at) if grant.available_at else None,
        },
        now,
    )


# --- the periodic job --------------------------------------------------------------------


def sweep(session: Session, now: datetime) -> int:
    """The worker's periodic job: "N days still active" grants, hold periods that ended or
    were broken by the new member leaving, and pending grants whose pool has codes again.
    Safe to run twice or from two workers: grants are still written once each."""
    return grant_active_days(session, now) + settle_holds(session, now) + fill_pending(session, now)


def grant_active_days(session: Session, now: datetime) -> int:
    written = 0
    rules = session.exec(
        select(RewardRule).where(
            RewardRule.trigger == RewardTrigger.ACTIVE_DAYS.value, RewardRule.enabled
        )
    ).all()
    for rule in rules:
        done = select(RewardGrant.id).where(
            RewardGrant.rule_id == rule.id, RewardGrant.invitation_id == Invitation.id
        )
        # The rule's active dates in SQL too: joins outside them must not fill every batch.
        window = []
        if rule.active_from is not None:
            window.append(col(Invitation.accepted_at) >= rule.active_from)
        if rule.active_until is not None:
            window.append(col(Invitation.accepted_at) < rule.active_until)
        due = session.exec(
            select(Invitation, Member)
            .join(Member, Member.id == Invitation.member_id)
            .where(
                Invitation.organization_id == rule.organization_id,
                Invitation.status == InvitationStatus.ACCEPTED.value,
                col(Invitation.accepted_at) <= now - timedelta(days=rule.active_days or 0),
                *window,
                Member.status == MemberStatus.ACTIVE.value,
                ~done.exists(),
            )
            .order_by(Invitation.id)
            .limit(SWEEP_BATCH)
        ).all()
        for invitation, member in due:
            granted = grant_for_invitation(
                session, invitation, member, RewardTrigger.ACTIVE_DAYS, now, rules=[rule]
            )
            written += len(granted)
    return written


def settle_holds(session: Session, now: datetime) -> int:
    """Grants in their hold period: revoked if the new member is no longer active, settled
    (no clawback any more) once the period is over. Two queries, so that grants far from
    their end never crowd out the ones to revoke or settle now."""
    in_hold = (RewardGrant.status == GrantStatus.ISSUED.value, ~col(RewardGrant.settled))
    left = session.exec(
        select(RewardGrant)
        .join(Member, Member.id == RewardGrant.invitee_id)
        .where(*in_hold, Member.status != MemberStatus.ACTIVE.value)
        .order_by(RewardGrant.id)
        .limit(SWEEP_BATCH)
    ).all()
    for grant in left:
        revoke(session, grant, now)
    over = session.exec(
        select(RewardGrant)
        .join(Member, Member.id == RewardGrant.invitee_id)
        .where(
            *in_hold,
            col(RewardGrant.available_at) <= now,
            Member.status == MemberStatus.ACTIVE.value,
        )
        .order_by(RewardGrant.available_at)
        .limit(SWEEP_BATCH)
    ).all()
    for grant in over:
        grant.settled = True
        grant.updated_at = now
        session.add(grant)
    return len(left) + len(over)


def fill_pending(session: Session, now: datetime, benefit_id: int | None = None) -> int:
    """Issue pending grants, oldest first, while their benefit's pool has codes."""
    query = select(RewardGrant).where(RewardGrant.status == GrantStatus.PENDING.value)
    if benefit_id is not None:
        query = query.where(RewardGrant.benefit_id == benefit_id)
    issued = 0
    for grant in session.exec(query.order_by(RewardGrant.id).limit(SWEEP_BATCH)).all():
        if issue(session, grant, now):
            issued += 1
    return issued
