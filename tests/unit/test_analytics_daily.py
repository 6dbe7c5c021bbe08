"""invitation_daily, the counts per day that the database's triggers keep (migration 0012),
must always say what counting the invitations themselves says: after inserts, after every
kind of change an invitation goes through, through the ORM or a plain UPDATE, for every
period and scope the analytics page offers, and for windows that start or end mid-day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, select

from portal.analytics import queries
from portal.models import DeliveryStatus, Invitation, InvitationDaily, InvitationStatus
from portal.roles import Role
from tests.factories import make_invitation, make_member, make_org, make_unit

NOW = datetime(2026, 3, 10, 15, 37, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> dict:
    org = make_org(session, "Daily Counts Club")
    north, south = make_unit(session, org, "North"), make_unit(session, org, "South")
    admin = make_member(session, org, Role.ADMIN_TENANT, full_name="Ada Admin")
    hr = make_member(session, org, Role.HR_LOCAL, unit=north, full_name="Hal HR")
    inviters = [
        admin,
        hr,
        make_member(session, org, Role.USER, unit=north, full_name="Nora North"),
        make_member(session, org, Role.USER, unit=south, full_name="Sam South"),
    ]
    rng = random.Random(20261204)
    for _ in range(160):
        created = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 50))
        accepted = created + timedelta(hours=rng.choice([1, 30, 100, 200, 400])) * rng.random()
        make_invitation(
            session,
            rng.choice(inviters),
            created_at=created,
            accepted_at=accepted if rng.random() < 0.4 and accepted < NOW else None,
            opened_at=created + timedelta(minutes=5) if rng.random() < 0.3 else None,
            delivery_status=rng.choice(list(DeliveryStatus)),
            source="link" if rng.random() < 0.1 else "email",
        )
    # Someone else's invitations never count.
    make_invitation(session, make_member(session, make_org(session), Role.USER), created_at=NOW)
    return {"admin": admin, "hr": hr, "rng": rng}


WINDOWS = [
    *(queries.window(period, NOW) for period in queries.PERIODS),
    queries.Window(NOW - timedelta(hours=3), NOW),  # under a day: no whole day
    queries.Window(datetime(2026, 3, 1, tzinfo=UTC), NOW),  # starts at midnight
    queries.Window(datetime(2026, 2, 20, 9, tzinfo=UTC), datetime(2026, 3, 2, 18, tzinfo=UTC)),
]


def assert_daily_counts_agree(session: Session, world: dict) -> None:
    for actor in (world["admin"], world["hr"]):
        for window in WINDOWS:
            expected = queries.report_from_invitations(session, actor, window)
            assert queries.report(session, actor, window) == expected, (actor.role, window)


def test_the_daily_counts_agree_with_the_invitations_they_were_made_from(
    session: Session, world: dict
) -> None:
    assert session.exec(select(func.count()).select_from(InvitationDaily)).one() > 40
    funnel = queries.report(session, world["admin"], queries.window("all", NOW)).funnel
    assert funnel.sent + funnel.link_joins == 160
    assert_daily_counts_agree(session, world)


def test_every_change_an_invitation_goes_through_moves_its_counts(
    session: Session, world: dict
) -> None:
    rng = world["rng"]
    invitations = session.exec(select(Invitation).order_by(Invitation.id)).all()
    for invitation in rng.sample(invitations, 60):
        change = rng.choice(["deliver", "fail", "resend", "open", "accept", "move"])
        if change == "deliver":
            invitation.delivery_status = DeliveryStatus.SENT
        elif change == "fail":
            invitation.delivery_status = DeliveryStatus.FAILED
        elif change == "resend":
            invitation.delivery_status = DeliveryStatus.QUEUED
        elif change == "open":
            invitation.first_visited_at = invitation.first_visited_at or NOW
        elif change == "accept" and invitation.accepted_at is None:
            invitation.status, invitation.accepted_at = InvitationStatus.ACCEPTED, NOW
        elif change == "move":  # a data fix: another inviter, another day
            invitation.inviter_id = world["hr"].id
            invitation.unit_id = world["hr"].unit_id
            invitation.created_at -= timedelta(days=3)
        session.add(invitation)
    session.commit()
    assert_daily_counts_agree(session, world)

    # A plain UPDATE, as a worker's conditional update or a fix in psql would be.
    session.exec(
        update(Invitation)
        .where(Invitation.delivery_status == DeliveryStatus.QUEUED)
        .values(delivery_status=DeliveryStatus.SENT)
    )
    session.commit()
    assert_daily_counts_agree(session, world)
