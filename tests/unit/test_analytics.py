"""Analytics and the leaderboard, checked against a fixture whose numbers are worked out by
hand in the comments (NOW is a fixed Tuesday, 10 March 2026, 12:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from portal.analytics import queries
from portal.analytics.service import initials
from portal.models import (
    ApplicationStatus,
    DeliveryStatus,
    Invitation,
    Member,
    MembershipApplication,
    MembershipSettings,
    Organization,
    Unit,
)
from portal.roles import Role
from tests.factories import make_invitation, make_member, make_org, make_unit

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def world(session: Session) -> dict:
    org = make_org(session, "Analytics Club")
    north, south = make_unit(session, org, "North"), make_unit(session, org, "South")
    admin = make_member(session, org, Role.ADMIN_TENANT, full_name="Ada Admin")
    nora = make_member(session, org, Role.USER, unit=north, full_name="Nora North")
    sam = make_member(session, org, Role.USER, unit=south, full_name="Sam South")
    hr_north = make_member(session, org, Role.HR_LOCAL, unit=north, full_name="Hal HR")
    day_ago = NOW - 2 * DAY
    # 1. Nora: delivered, opened, joined an hour later (within a day), on 8 March.
    make_invitation(session, nora, created_at=day_ago, accepted_at=day_ago + timedelta(hours=1))
    # 2. Nora: delivered and opened, not joined.
    make_invitation(session, nora, created_at=NOW - 5 * DAY, opened_at=NOW - 4 * DAY)
    # 3. Nora: never delivered.
    make_invitation(session, nora, created_at=NOW - 10 * DAY, delivery_status=DeliveryStatus.FAILED)
    # 4. Sam: joined after 5 days (3–7 days), on 23 February.
    make_invitation(session, sam, created_at=NOW - 20 * DAY, accepted_at=NOW - 15 * DAY)
    # 5. Sam, outside the last 30 days: joined after 20 days (over 14), on 18 February.
    make_invitation(session, sam, created_at=NOW - 40 * DAY, accepted_at=NOW - 20 * DAY)
    # 6. Ada, over a year ago, no unit: joined 12 hours later.
    long_ago = NOW - 400 * DAY
    make_invitation(session, admin, created_at=long_ago, accepted_at=long_ago + 12 * DAY / 24)
    # Another organisation's invitation never counts.
    other = make_member(session, make_org(session), Role.ADMIN_TENANT)
    make_invitation(session, other, created_at=NOW - DAY, accepted_at=NOW - DAY / 2)
    return {"org": org, "north": north, "admin": admin, "nora": nora, "sam": sam, "hr": hr_north}


def test_the_funnel_of_the_last_30_days_counts_each_step_and_each_delay(session, world):
    funnel = queries.report(session, world["admin"], queries.window("30d", NOW)).funnel
    # Invitations 1–4: delivered 1, 2, 4; opened 1, 2, 4; joined 1 (within a day), 4 (3–7).
    assert (funnel.sent, funnel.delivered, funnel.opened, funnel.joined) == (4, 3, 3, 2)
    assert funnel.delays == (1, 0, 1, 0, 0)


def test_all_time_counts_every_invitation_of_the_organisation_and_no_other(session, world):
    funnel = queries.report(session, world["admin"], queries.window("all", NOW)).funnel
    assert (funnel.sent, funnel.delivered, funnel.opened, funnel.joined) == (6, 5, 5, 4)
    assert funnel.delays == (2, 0, 1, 0, 1)


def test_with_adhesion_on_the_funnel_ends_with_the_approved_joins(session, world):
    invitations = session.exec(
        select(Invitation)
        .where(
            Invitation.organization_id == world["org"].id,
            Invitation.accepted_at.is_not(None),
            Invitation.inviter_id != world["admin"].id,
        )
        .order_by(Invitation.created_at.desc())
    ).all()
    joined_2_days_ago, joined_20_days_ago, joined_40_days_ago = invitations[:3]
    assert (
        queries.report(session, world["admin"], queries.window("30d", NOW)).funnel.approved is None
    )

    session.add(MembershipSettings(organization_id=world["org"].id, approval_required=True))
    decisions = [
        (joined_2_days_ago, ApplicationStatus.APPROVED),  # Nora (North), in the last 30 days
        (joined_20_days_ago, ApplicationStatus.PENDING),  # Sam (South), still waiting
        (joined_40_days_ago, ApplicationStatus.APPROVED),  # Sam, before the last 30 days
    ]
    for invitation, status in decisions:
        applicant = make_member(session, world["org"], Role.USER)
        session.add(
            MembershipApplication(
                organization_id=world["org"].id,
                unit_id=invitation.unit_id,
                member_id=applicant.id,
                invitation_id=invitation.id,
                status=status,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    session.commit()

    funnel = queries.report(session, world["admin"], queries.window("30d", NOW)).funnel
    assert funnel.approved == 1
    assert funnel.steps[-1] == ("Approved", 1)
    assert queries.report(session, world["admin"], queries.window("all", NOW)).funnel.approved == 2
    # Local HR of North: Nora's approved join only.
    assert queries.report(session, world["hr"], queries.window("all", NOW)).funnel.approved == 1


def test_local_hr_sees_their_unit_only(session, world):
    found = queries.report(session, world["hr"], queries.window("30d", NOW))
    funnel = found.funnel
    assert (funnel.sent, funnel.delivered, funnel.opened, funnel.joined) == (3, 2, 2, 1)
    assert found.units == []
    inviters = queries.report(session, world["hr"], queries.window("all", NOW)).inviters
    assert [(t.label, t.sent, t.joined) for t in inviters] == [("Nora North", 3, 1)]


def test_joins_per_inviter_most_active_first_with_their_rate(session, world):
    inviters = queries.report(session, world["admin"], queries.window("all", NOW)).inviters
    assert [(t.label, t.sent, t.joined) for t in inviters] == [
        ("Nora North", 3, 1),
        ("Sam South", 2, 2),
        ("Ada Admin", 1, 1),
    ]
    assert inviters[0].rate == pytest.approx(1 / 3)


def test_units_compared_with_invitations_outside_any_unit(session, world):
    units = queries.report(session, world["admin"], queries.window("all", NOW)).units
    assert [(t.label, t.sent, t.joined) for t in units] == [
        ("North", 3, 1),
        ("South", 2, 2),
        (queries.NO_UNIT, 1, 1),
    ]


def test_an_empty_period_is_all_zeros_and_no_rate(session, org: Organization, admin: Member):
    funnel = queries.report(session, admin, queries.window("30d", NOW)).funnel
    assert (funnel.sent, funnel.joined, funnel.delays) == (0, 0, (0, 0, 0, 0, 0))
    assert queries.rate(funnel.joined, funnel.sent) is None


def test_the_leaderboard_by_month_quarter_and_all_time(session, world):
    org_id = world["org"].id

    def board(period: str, unit: Unit | None = None) -> list[tuple[int, str, int]]:
        since = queries.board_since(period, NOW)
        places = queries.leaderboard(session, org_id, unit.id if unit else None, since)
        return [(p.rank, p.name, p.joins) for p in places]

    assert board("month") == [(1, "Nora North", 1)]  # 8 March
    assert board("quarter") == [(1, "Sam South", 2), (2, "Nora North", 1)]
    # Equal counts share a rank, and are listed by name.
    assert board("all") == [(1, "Sam South", 2), (2, "Ada Admin", 1), (2, "Nora North", 1)]
    assert board("all", world["north"]) == [(1, "Nora North", 1)]


def test_the_month_starts_at_midnight_utc_on_the_first(session, org, admin):
    make_invitation(
        session,
        admin,
        created_at=datetime(2026, 2, 20, tzinfo=UTC),
        accepted_at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
    )
    since = queries.board_since("month", NOW)
    assert since == datetime(2026, 3, 1, tzinfo=UTC)
    assert queries.leaderboard(session, org.id, None, since) == []
    make_invitation(
        session,
        admin,
        created_at=datetime(2026, 2, 20, tzinfo=UTC),
        accepted_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert [p.joins for p in queries.leaderboard(session, org.id, None, since)] == [1]


def test_quarters_start_in_january_april_july_and_october():
    starts = {
        m: queries.board_since("quarter", datetime(2026, m, 15, tzinfo=UTC)).month
        for m in range(1, 13)
    }
    assert starts == {m: 1 + 3 * ((m - 1) // 3) for m in range(1, 13)}


def test_initials_name_people_without_their_names():
    assert initials("Ada Lovelace") == "A. L."
    assert initials("  émile   zola ") == "É. Z."
    assert initials("") == "—"
