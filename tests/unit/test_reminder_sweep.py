"""Invitation reminders (issue 12): which invitations the sweep reminds, exactly once, and
the fresh link it carries. The sweep runs with a chosen `now`, the invitations are sent in
the past, so the worker's own clock stays the real one."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.errors import InviteSuperseded
from portal.invites import service as invites
from portal.invites.reminders import REMINDER_TOPIC, due_reminders, sweep_reminders
from portal.models import DeliveryStatus, Invitation, OutboxItem
from portal.roles import Role
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_member, make_org, settings

DAYS = 3


@pytest.fixture
def reminding(session, org):
    settings(session, org, reminder_days=DAYS)


def sent(app, session, inviter, email: str, days_ago: float) -> Invitation:
    """An invitation sent `days_ago` whose e-mail the worker delivered."""
    result = invites.send_invitation(
        session, inviter, email=email, now=utcnow() - timedelta(days=days_ago)
    )
    session.commit()
    assert Worker(app).run_once().delivered == 1
    return fresh(session, result.invitation)


def fresh(session, invitation: Invitation) -> Invitation:
    session.expire_all()
    return session.get(Invitation, invitation.id)


def reminders(session) -> list[OutboxItem]:
    session.expire_all()
    return list(session.exec(select(OutboxItem).where(OutboxItem.topic == REMINDER_TOPIC)))


def sweep(session, now=None) -> int:
    count = sweep_reminders(session, now or utcnow())
    session.commit()
    return count


def test_a_delivered_pending_invitation_is_reminded_once_after_n_days(
    app, session, inviter, reminding
):
    due = sent(app, session, inviter, "due@example.org", days_ago=DAYS + 0.1)
    expires_at, sent_at = due.expires_at, due.sent_at
    young = sent(app, session, inviter, "young@example.org", days_ago=DAYS - 0.1)
    now = utcnow()
    assert sweep(session, now) == 1
    assert sweep(session, now) == 0  # run again: nothing left to remind
    assert sweep(session, now + timedelta(days=1)) == 1  # the young one, once its turn comes
    assert sweep(session, now + timedelta(days=2)) == 0
    [first, second] = reminders(session)
    assert {first.invitation_id, second.invitation_id} == {due.id, young.id}
    reminded = fresh(session, due)
    assert reminded.reminded_at == now
    # The expiry and the sent date stay: nobody chose to give the invitee more time.
    assert (reminded.expires_at, reminded.sent_at) == (expires_at, sent_at)
    assert reminded.send_count == 2  # the reminder's e-mail is the current one
    assert reminded.delivery_status == DeliveryStatus.QUEUED
    assert first.payload["send_number"] == reminded.send_count
    assert "sealed_secret" in first.payload


@pytest.mark.parametrize("state", ["expired", "revoked", "accepted", "failed", "queued"])
def test_the_sweep_leaves_alone_what_must_not_be_reminded(app, session, inviter, reminding, state):
    invitation = sent(app, session, inviter, "guest@example.org", days_ago=DAYS + 1)
    now = utcnow()
    if state == "expired":
        now = invitation.expires_at  # expires_at passed (not yet persisted by the sweep)
    elif state == "revoked":
        invites.revoke(session, inviter, invitation, now)
    elif state == "accepted":
        invitation.status, invitation.accepted_at = "ACCEPTED", now
    else:  # its e-mail couldn't be delivered, or is still being retried
        invitation.delivery_status = state
    session.add(invitation)
    session.commit()
    assert sweep(session, now) == 0
    assert reminders(session) == []
    assert fresh(session, invitation).reminded_at is None


def test_no_reminders_when_the_organisation_has_them_off(app, session, org, inviter):
    invitation = sent(app, session, inviter, "guest@example.org", days_ago=10)
    for off in (None, 0):
        settings(session, org, reminder_days=off)
        assert sweep(session) == 0
    assert fresh(session, invitation).reminded_at is None


def test_no_reminders_while_invitations_are_off(app, session, org, inviter, reminding):
    invitation = sent(app, session, inviter, "guest@example.org", days_ago=DAYS + 1)
    settings(session, org, enabled=False)
    assert sweep(session) == 0
    settings(session, org, enabled=True)
    assert sweep(session) == 1
    assert fresh(session, invitation).reminded_at is not None


def test_each_organisation_reminds_after_its_own_days(app, session, inviter, reminding):
    other_org = make_org(session, "Lakeside")
    settings(session, other_org, reminder_days=7)
    other = make_member(session, other_org, Role.ADMIN_TENANT, email="olga@example.org")
    here = sent(app, session, inviter, "here@example.org", days_ago=5)
    there = sent(app, session, other, "there@example.org", days_ago=5)
    assert sweep(session) == 1
    assert fresh(session, here).reminded_at is not None
    assert fresh(session, there).reminded_at is None
    assert sweep(session, utcnow() + timedelta(days=2)) == 1
    assert fresh(session, there).reminded_at is not None


def test_a_resend_does_not_bring_a_second_reminder(app, session, inviter, reminding):
    invitation = sent(app, session, inviter, "guest@example.org", days_ago=DAYS + 1)
    assert sweep(session) == 1
    invites.resend(session, inviter, fresh(session, invitation), utcnow())
    session.commit()
    while Worker(app).run_once().total:
        pass
    assert sweep(session, utcnow() + timedelta(days=DAYS + 1)) == 0
    assert len(reminders(session)) == 1


def test_the_old_link_says_a_newer_invitation_was_sent(app, session, inviter, reminding):
    result = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow() - timedelta(days=DAYS + 1)
    )
    session.commit()
    Worker(app).run_once()
    assert sweep(session) == 1
    with pytest.raises(InviteSuperseded):
        invites.open_link(session, invites.digest(result.secret), utcnow())


def test_the_sweeps_query_is_served_by_its_partial_index(session, org):
    now = utcnow()
    statement = due_reminders(org.id, now, now, 10)
    sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if TEST_DATABASE_URL:
        # An empty table is cheapest to scan: ask whether the index *can* answer.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = session.execute(text(f"EXPLAIN {sql}")).all()
    else:
        plan = session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
    session.rollback()
    assert "ix_invitation_reminder_due" in " ".join(str(row) for row in plan)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite has no concurrent writers")
def test_two_sweeps_at_once_remind_each_invitation_exactly_once(
    app, session, engine, inviter, reminding
):
    invitations = [
        sent(app, session, inviter, f"guest{n}@example.org", days_ago=DAYS + 1) for n in range(6)
    ]
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(engine) as own:
                barrier.wait(timeout=10)
                counts.append(sweep_reminders(own, utcnow()))
                own.commit()
        except BaseException as exc:  # noqa: BLE001 (reported by the test below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(counts) == len(invitations)
    items = reminders(session)
    assert sorted(item.invitation_id for item in items) == sorted(i.id for i in invitations)
