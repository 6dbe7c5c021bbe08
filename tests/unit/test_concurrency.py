"""One link, many simultaneous joins: exactly one member."""

from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from portal.clock import utcnow
from portal.errors import DomainError
from portal.invites import service as invites
from portal.models import Invitation, Member
from portal.roles import Role
from tests.factories import make_member, make_org
from tests.unit.test_invites_service import secret_of


def test_twenty_concurrent_joins_with_one_link_create_exactly_one_member(session, engine):
    org = make_org(session)
    inviter = make_member(session, org, Role.USER)
    invitation = invites.send_invitation(
        session, inviter, email="race@example.org", now=utcnow()
    ).invitation
    session.commit()
    digest = invites.digest(secret_of(session, invitation))
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                invites.accept(
                    own,
                    digest,
                    email="race@example.org",
                    full_name=f"Racer {n}",
                    password="long password",
                    now=utcnow(),
                )
                own.commit()
                result = "joined"
            except DomainError as error:
                own.rollback()
                result = error.code
            except Exception as error:  # noqa: BLE001  (a unique-index loser counts as refused)
                own.rollback()
                result = type(error).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("joined") == 1, outcomes
    assert (
        session.exec(
            select(func.count()).select_from(Member).where(Member.email == "race@example.org")
        ).one()
        == 1
    )
    session.expire_all()
    assert session.get(Invitation, invitation.id).status == "ACCEPTED"
    # Everyone else was told the link was used, not shown a crash.
    assert set(outcomes) - {"joined"} <= {"invite_used", "account_exists"}, outcomes
