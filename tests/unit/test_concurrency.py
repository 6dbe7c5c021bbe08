"""One link, many simultaneous joins: exactly one member."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session, func, select

from portal.clock import utcnow
from portal.email_templates import service as email_templates
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


def test_two_admins_choosing_different_defaults_at_once_leave_one_and_tell_the_other(
    session, engine
):
    """Both clear the old default before either commits. On PostgreSQL the second one to
    set trips over the unique index and must get a Conflict with a sentence, not a crash;
    SQLite serialises the two writers, so there both succeed one after the other."""
    org = make_org(session)
    admins = [make_member(session, org, Role.ADMIN_TENANT) for _ in range(2)]
    names = ["Warm", "Formal"]
    for admin, name in zip(admins, names, strict=True):
        email_templates.create(
            session, admin, email_templates.TemplateInput(name, "Hi", "Join us."), utcnow()
        )
    session.commit()
    public_ids = {t.name: t.public_id for t in email_templates.list_templates(session, org.id)}
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}
    lock = threading.Lock()

    def choose(admin, name: str) -> None:
        with Session(engine) as own:
            template = email_templates.get(own, admin, public_ids[name])
            barrier.wait()
            try:
                email_templates.set_default(own, admin, template, utcnow())
                time.sleep(0.3)  # hold the transaction open while the other one runs
                own.commit()
                result = "chosen"
            except DomainError as error:
                own.rollback()
                result = f"{error.code}: {error.message}"
            except Exception as error:  # noqa: BLE001  (a 500 in the making: the test fails)
                own.rollback()
                result = type(error).__name__
        with lock:
            outcomes[name] = result

    threads = [
        threading.Thread(target=choose, args=(admin, name))
        for admin, name in zip(admins, names, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert "chosen" in outcomes.values(), outcomes
    for name, result in outcomes.items():
        assert result == "chosen" or result.startswith(
            f"conflict: Another admin chose a different default template at the same moment, "
            f"so “{name}” was not made the default."
        ), outcomes
    session.expire_all()
    defaults = [t.name for t in email_templates.list_templates(session, org.id) if t.is_default]
    assert len(defaults) == 1
    assert outcomes[defaults[0]] == "chosen"
