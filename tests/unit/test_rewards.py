"""Referral rewards: rules, caps, the ledger's exactly-once, hold periods, code pools,
fraud signals and review, without a browser."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from portal import sealing
from portal.auth.service import set_member_status
from portal.clock import utcnow
from portal.errors import Conflict, Invalid, NotAllowed
from portal.models import (
    AuditEvent,
    Benefit,
    GrantStatus,
    Invitation,
    Member,
    OutboxItem,
    RewardKind,
    RewardTrigger,
    WebhookEndpoint,
)
from portal.rewards import fraud, ledger
from portal.rewards import service as rewards
from portal.rewards.service import RewardInput
from portal.roles import MemberStatus, Role
from tests.factories import make_member, make_unit
from tests.unit.rewards_support import NOTHING, grants, join, make_rule, points


@pytest.fixture
def referrer(session, org):
    return make_member(session, org, Role.USER, email="rita@example.org", full_name="Rita Ref")


def subscribe(session, org, types=("REWARD_ISSUED", "REWARD_HELD", "REWARD_REVOKED")):
    now = utcnow()
    session.add(
        WebhookEndpoint(
            organization_id=org.id,
            url="https://hooks.example.org/in",
            event_types=list(types),
            sealed_secret=sealing.seal("whsec_x"),
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()


def events(session, event_type):
    items = session.exec(select(OutboxItem).where(OutboxItem.topic == event_type)).all()
    return [item.payload["event"] for item in items]


# --- rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [0, -3])
def test_a_cap_of_zero_or_less_is_refused_with_its_own_message(session, admin, cap):
    with pytest.raises(Invalid, match="at least 1 grant") as refused:
        make_rule(session, admin, monthly_cap=cap)
    assert refused.value.field == "monthly_cap"
    with pytest.raises(Invalid, match="cap per year must be at least 1") as refused:
        make_rule(session, admin, yearly_cap=cap)
    assert refused.value.field == "yearly_cap"


def test_a_rule_needs_a_reward_for_someone_and_the_days_for_its_trigger(session, admin):
    with pytest.raises(Invalid, match="Choose a reward"):
        rewards.create_rule(
            session,
            admin,
            rewards.RuleInput("R", RewardTrigger.JOINED, NOTHING, NOTHING),
            utcnow(),
        )
    with pytest.raises(Invalid, match="how many days") as refused:
        make_rule(session, admin, trigger=RewardTrigger.ACTIVE_DAYS)
    assert refused.value.field == "active_days"
    with pytest.raises(Invalid, match="how many points"):
        make_rule(session, admin, referrer=RewardInput(kind=RewardKind.POINTS))


def test_only_organisation_admins_create_rules_and_it_is_audited(session, admin, referrer):
    with pytest.raises(NotAllowed):
        make_rule(session, referrer)
    rule = make_rule(session, admin)
    logged = session.exec(
        select(AuditEvent).where(AuditEvent.action == "reward_rule.created")
    ).one()
    assert logged.target_id == rule.public_id and logged.after["referrer_points"] == 100


# --- code pools -----------------------------------------------------------------------------


def test_a_code_pool_with_a_blank_line_or_a_duplicate_is_refused_and_nothing_is_saved(
    session, admin
):
    with pytest.raises(Invalid, match="Line 2 is blank"):
        rewards.create_benefit(
            session, admin, name="Voucher", description="", codes="A1\n\nA2", now=utcnow()
        )
    session.rollback()
    with pytest.raises(Invalid, match="“A1” is on line 1 and again on line 3"):
        rewards.create_benefit(
            session, admin, name="Voucher", description="", codes="A1\nA2\nA1\n", now=utcnow()
        )
    session.rollback()
    assert session.exec(select(Benefit)).all() == []
    assert rewards.parse_codes(" A1 \r\nA2\n\n") == ["A1", "A2"]  # a final line break is fine


def test_codes_already_in_the_pool_are_refused(session, admin):
    benefit = rewards.create_benefit(
        session, admin, name="Voucher", description="", codes="A1\nA2", now=utcnow()
    )
    session.commit()
    with pytest.raises(Invalid, match="“A2” is already in this benefit's pool"):
        rewards.add_codes(session, admin, benefit, "A3\nA2", utcnow())


def test_each_grant_gets_its_own_code_and_an_empty_pool_keeps_the_grant_pending(
    session, admin, referrer
):
    benefit = rewards.create_benefit(
        session, admin, name="Voucher", description="", codes="ONLY-ONE", now=utcnow()
    )
    session.commit()
    make_rule(
        session,
        admin,
        referrer=RewardInput(kind=RewardKind.BENEFIT, benefit_public_id=benefit.public_id),
    )
    join(session, referrer, "one@example.org")
    join(session, referrer, "two@example.org")
    first, second = grants(session)
    assert first.status == GrantStatus.ISSUED and ledger.code_of(session, first) == "ONLY-ONE"
    assert second.status == GrantStatus.PENDING and ledger.code_of(session, second) is None
    assert [r.pending_grants for r in rewards.list_benefits(session, admin.organization_id)] == [1]
    # Adding codes issues the waiting grant at once.
    assert rewards.add_codes(session, admin, benefit, "NEXT", utcnow()) == 1
    session.commit()
    session.refresh(second)
    assert second.status == GrantStatus.ISSUED and ledger.code_of(session, second) == "NEXT"


# --- the ledger -------------------------------------------------------------------------------


def test_a_join_rewards_both_parties_once_each_with_an_event_and_an_email(
    session, org, admin, referrer
):
    subscribe(session, org)
    make_rule(session, admin, referrer=points(100), referee=points(20))
    newcomer = join(session, referrer, "newcomer@example.org")
    by_party = {g.party: g for g in grants(session)}
    assert by_party["referrer"].member_id == referrer.id and by_party["referrer"].points == 100
    assert by_party["referee"].member_id == newcomer.id and by_party["referee"].points == 20
    assert all(g.status == GrantStatus.ISSUED for g in by_party.values())
    issued = {event["data"]["party"]: event for event in events(session, "REWARD_ISSUED")}
    assert set(issued) == {"referrer", "referee"}
    referrer_event = issued["referrer"]
    assert referrer_event["id"].startswith("et-") and referrer_event["version"] == 1
    assert referrer_event["type"] == "REWARD_ISSUED" and referrer_event["createdAt"].endswith("Z")
    assert referrer_event["data"]["userId"] == referrer.public_id
    assert referrer_event["data"]["inviteId"].startswith("iv-")
    assert referrer_event["data"]["points"] == 100
    mails = session.exec(select(OutboxItem).where(OutboxItem.topic == "reward_issued")).all()
    assert {m.payload["grant_id"] for m in mails} == {g.id for g in by_party.values()}


def test_processing_the_trigger_again_writes_nothing_more(session, admin, referrer):
    make_rule(session, admin, referrer=points(100), referee=points(20))
    newcomer = join(session, referrer, "newcomer@example.org")
    invitation = session.get(Invitation, newcomer.invitation_id)
    again = ledger.grant_for_invitation(
        session, invitation, newcomer, RewardTrigger.JOINED, utcnow()
    )
    session.commit()
    assert again == [] and len(grants(session)) == 2


def test_concurrent_processing_of_one_join_writes_each_grant_once(session, engine, admin, referrer):
    newcomer = join(session, referrer, "newcomer@example.org")
    # The rule comes after the join, so only the threads below grant anything.
    make_rule(session, admin, referrer=points(100), referee=points(20))
    invitation = session.get(Invitation, newcomer.invitation_id)
    barrier = threading.Barrier(8)
    written: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def attempt() -> None:
        with Session(engine, expire_on_commit=False) as own:
            mine = own.get(Invitation, invitation.id)
            member = own.get(Member, newcomer.id)
            barrier.wait()
            try:
                done = ledger.grant_for_invitation(
                    own, mine, member, RewardTrigger.JOINED, utcnow()
                )
                own.commit()
            except BaseException as error:  # noqa: BLE001  (reported below)
                with lock:
                    failures.append(error)
                return
            with lock:
                written.append(len(done))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(written) == 2
    assert sorted(g.party for g in grants(session)) == ["referee", "referrer"]


# --- caps --------------------------------------------------------------------------------------


def test_the_monthly_cap_counts_by_calendar_month_in_utc(session, admin, referrer):
    make_rule(session, admin, referrer=points(10), referee=points(1), monthly_cap=1)
    end_of_month = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    join(session, referrer, "a@example.org", now=end_of_month - timedelta(hours=1))
    join(session, referrer, "b@example.org", now=end_of_month)
    join(session, referrer, "c@example.org", now=end_of_month + timedelta(minutes=2))  # 1 Feb
    statuses = [(g.party, g.status) for g in grants(session, party="referrer")]
    assert statuses == [
        ("referrer", GrantStatus.ISSUED),
        ("referrer", GrantStatus.CAPPED),
        ("referrer", GrantStatus.ISSUED),
    ]
    # The new members' own rewards are not the referrer's cap's business.
    assert {g.status for g in grants(session, party="referee")} == {GrantStatus.ISSUED}


def test_the_yearly_cap_counts_by_calendar_year(session, admin, referrer):
    make_rule(session, admin, referrer=points(10), yearly_cap=1)
    join(session, referrer, "a@example.org", now=datetime(2026, 3, 1, tzinfo=UTC))
    join(session, referrer, "b@example.org", now=datetime(2026, 11, 1, tzinfo=UTC))
    join(session, referrer, "c@example.org", now=datetime(2027, 1, 1, tzinfo=UTC))
    assert [g.status for g in grants(session)] == [
        GrantStatus.ISSUED,
        GrantStatus.CAPPED,
        GrantStatus.ISSUED,
    ]


def test_a_rule_applies_to_joins_within_its_active_dates_only(session, admin, referrer):
    start = datetime(2026, 5, 1, tzinfo=UTC)
    make_rule(session, admin, active_from=start, active_until=start + timedelta(days=30), now=start)
    join(session, referrer, "early@example.org", now=start - timedelta(seconds=1))
    join(session, referrer, "in@example.org", now=start + timedelta(days=3))
    join(session, referrer, "late@example.org", now=start + timedelta(days=30))
    assert len(grants(session)) == 1


# --- "N days still active" and hold periods (the periodic job) ------------------------------


def test_the_active_days_trigger_grants_once_the_days_have_passed_and_only_if_active(
    session, admin, referrer
):
    start = datetime(2026, 4, 1, tzinfo=UTC)
    make_rule(
        session, admin, trigger=RewardTrigger.ACTIVE_DAYS, active_days=30, referrer=points(50)
    )
    stays = join(session, referrer, "stays@example.org", now=start)
    leaves = join(session, referrer, "leaves@example.org", now=start)
    set_member_status(session, None, leaves, MemberStatus.DISABLED, start + timedelta(days=2))
    session.commit()
    assert ledger.sweep(session, start + timedelta(days=29)) == 0
    assert ledger.sweep(session, start + timedelta(days=30)) == 1
    assert ledger.sweep(session, start + timedelta(days=31)) == 0  # once
    session.commit()
    (grant,) = grants(session)
    assert grant.invitee_id == stays.id and grant.status == GrantStatus.ISSUED


def test_a_hold_period_revokes_the_grant_if_the_new_member_leaves_within_it(
    session, org, admin, referrer
):
    subscribe(session, org)
    start = datetime(2026, 4, 1, tzinfo=UTC)
    make_rule(session, admin, hold_days=14, referrer=points(50))
    kept = join(session, referrer, "kept@example.org", now=start)
    gone = join(session, referrer, "gone@example.org", now=start)
    set_member_status(session, None, gone, MemberStatus.DISABLED, start + timedelta(days=3))
    session.commit()
    ledger.sweep(session, start + timedelta(days=4))
    session.commit()
    by_invitee = {g.invitee_id: g for g in grants(session)}
    assert by_invitee[gone.id].status == GrantStatus.REVOKED
    assert by_invitee[kept.id].status == GrantStatus.ISSUED and not by_invitee[kept.id].settled
    (revoked,) = events(session, "REWARD_REVOKED")
    assert revoked["data"]["rewardId"] == by_invitee[gone.id].public_id
    ledger.sweep(session, start + timedelta(days=14))
    session.commit()
    session.refresh(by_invitee[kept.id])
    assert by_invitee[kept.id].settled


# --- fraud signals and review -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("referrer_email", "invitee_email"),
    [
        ("rita@example.org", "rita+2@example.org"),
        ("rita.ref@gmail.com", "ritaref+x@googlemail.com"),
        ("r.i.t.a@googlemail.com", "rita@gmail.com"),
    ],
)
def test_aliases_of_the_referrers_address_are_recognised(referrer_email, invitee_email):
    assert fraud.is_alias(referrer_email, invitee_email)


def test_dots_matter_outside_gmail_and_other_people_are_not_aliases():
    assert not fraud.is_alias("rita.ref@example.org", "ritaref@example.org")
    assert not fraud.is_alias("rita@gmail.com", "anna@gmail.com")


def test_disposable_domains_and_their_subdomains_are_recognised():
    assert fraud.is_disposable("x@mailinator.com")
    assert fraud.is_disposable("x@eu.mailinator.com")
    assert not fraud.is_disposable("x@example.org")


@pytest.mark.parametrize(
    ("email", "signal"),
    [("rita+alt@example.org", "alias"), ("someone@mailinator.com", "disposable")],
)
def test_a_suspicious_join_is_held_with_its_signal_and_emits_reward_held(
    session, org, admin, referrer, email, signal
):
    subscribe(session, org)
    make_rule(session, admin, referrer=points(100))
    join(session, referrer, email)
    (grant,) = grants(session)
    assert grant.status == GrantStatus.HELD and grant.signals == [signal]
    assert len(session.exec(select(OutboxItem).where(OutboxItem.topic == "REWARD_HELD")).all())
    assert not session.exec(select(OutboxItem).where(OutboxItem.topic == "reward_issued")).all()


def test_a_join_from_the_referrers_own_browser_is_held(session, admin, referrer):
    fraud.record_device(session, referrer, "d" * 64, utcnow())  # what a login records
    session.commit()
    make_rule(session, admin, referrer=points(100))
    join(session, referrer, "friend@example.org", device_digest="d" * 64)
    join(session, referrer, "other@example.org", device_digest="e" * 64)
    assert [(g.status, g.signals) for g in grants(session)] == [
        (GrantStatus.HELD, ["same_device"]),
        (GrantStatus.ISSUED, []),
    ]


def test_review_approves_or_denies_with_a_note_within_the_reviewers_scope(session, org, admin):
    north, south = make_unit(session, org, "N"), make_unit(session, org, "S")
    referrer = make_member(session, org, Role.USER, unit=north, email="rita@example.org")
    hr_north = make_member(session, org, Role.HR_LOCAL, unit=north)
    hr_south = make_member(session, org, Role.HR_LOCAL, unit=south)
    make_rule(session, admin, referrer=points(100))
    join(session, referrer, "rita+1@example.org")
    join(session, referrer, "rita+2@example.org")
    first, second = grants(session)
    with pytest.raises(NotAllowed):
        rewards.get_held(session, hr_south, first.public_id)
    with pytest.raises(Invalid, match="Say why"):
        rewards.decide(session, hr_north, first, approve=False, note=" ", now=utcnow())
    rewards.decide(session, hr_north, first, approve=True, note="", now=utcnow())
    rewards.decide(session, hr_north, second, approve=False, note="Same person", now=utcnow())
    session.commit()
    assert (first.status, second.status) == (GrantStatus.ISSUED, GrantStatus.DENIED)
    assert second.review_note == "Same person" and second.reviewed_by_id == hr_north.id
    with pytest.raises(Conflict):
        rewards.decide(session, hr_north, second, approve=True, note="", now=utcnow())
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.like("reward.%")))
    assert sorted(actions.all()) == ["reward.approved", "reward.denied"]


def test_joins_outside_an_active_days_rules_dates_never_crowd_out_the_ones_inside(
    session, admin, referrer, monkeypatch
):
    monkeypatch.setattr(ledger, "SWEEP_BATCH", 2)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    for n in range(3):  # before the rule's dates: never rewarded, never in the batch
        join(session, referrer, f"early{n}@example.org", now=start - timedelta(days=5))
    inside = join(session, referrer, "inside@example.org", now=start + timedelta(days=1))
    make_rule(
        session,
        admin,
        trigger=RewardTrigger.ACTIVE_DAYS,
        active_days=10,
        active_from=start,
        referrer=points(5),
    )
    assert ledger.sweep(session, start + timedelta(days=20)) == 1
    session.commit()
    assert [g.invitee_id for g in grants(session)] == [inside.id]
