"""Two HR members deciding one application at the same moment: it is decided exactly once
(a conditional update `… WHERE status = 'pending'`), and the other is told who was first."""

from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from portal.applications import service as applications
from portal.clock import utcnow
from portal.errors import DomainError
from portal.models import AuditEvent, Member, MembershipApplication, OutboxItem
from portal.roles import MemberStatus, Role
from tests.factories import make_member, make_org, make_unit


def test_concurrent_decisions_on_one_application_take_exactly_one(session, engine):
    org = make_org(session)
    unit = make_unit(session, org)
    deciders = [
        make_member(session, org, Role.HR_LOCAL, unit=unit, full_name=f"HR {n}") for n in range(8)
    ]
    applicant = make_member(session, org, unit=unit, status=MemberStatus.PENDING_APPROVAL)
    application = MembershipApplication(
        organization_id=org.id,
        unit_id=unit.id,
        member_id=applicant.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(application)
    session.commit()
    barrier = threading.Barrier(len(deciders))
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with Session(engine) as own:
            actor = own.get(Member, deciders[n].id)
            target = own.get(MembershipApplication, application.id)
            approve = n % 2 == 0  # half approve, half reject: one of them wins
            barrier.wait()
            try:
                applications.decide(own, actor, target, approve=approve, note="", now=utcnow())
                own.commit()
                result = ("decided", "approved" if approve else "rejected")
            except DomainError as error:
                own.rollback()
                result = (error.code, error.message)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(deciders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    won = [o for o in outcomes if o[0] == "decided"]
    assert len(won) == 1, outcomes
    losers = [o for o in outcomes if o[0] != "decided"]
    assert len(losers) == len(deciders) - 1
    assert {code for code, _ in losers} == {"already_decided"}, outcomes
    assert all(f"This application was already {won[0][1]} by HR " in m for _, m in losers)
    session.expire_all()
    decided = session.get(MembershipApplication, application.id)
    assert decided.status == won[0][1]
    expected = MemberStatus.ACTIVE if won[0][1] == "approved" else MemberStatus.DISABLED
    assert session.get(Member, applicant.id).status == expected
    # One decision: one e-mail, one audit row.
    assert (
        session.exec(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.topic == "application_decided")
        ).one()
        == 1
    )
    assert (
        session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(("application.approved", "application.rejected")))
        ).one()
        == 1
    )
