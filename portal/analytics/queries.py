"""Invitation analytics: aggregate queries over the invitations an HR member or admin
oversees, each answered by an index (ix_invitation_org_created / _accepted, which carry the
columns these queries read, so PostgreSQL answers from the index alone), and for the
analytics' whole days by invitation_daily, the counts per day that triggers keep
(migration 0012).

A period is a window on `created_at` (when the invitation was first made, which a resend
doesn't move); the leaderboard's is a window on `accepted_at` (when the join happened)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain

from sqlalchemy import Integer, Row, and_, case, cast, func, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from portal.models import (
    ApplicationStatus,
    DeliveryStatus,
    Invitation,
    InvitationDaily,
    InvitationSource,
    Member,
    MembershipApplication,
    MembershipSettings,
    Unit,
)
from portal.policy import oversight

# Choices of the analytics page's period: key -> (words, days back; None for all time).
PERIODS: dict[str, tuple[str, int | None]] = {
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "365d": ("Last 12 months", 365),
    "all": ("All time", None),
}
DEFAULT_PERIOD = "90d"

# Days from invitation to join, as the histogram's bars: (words, up to this many days).
JOIN_DELAYS: tuple[tuple[str, float | None], ...] = (
    ("Within a day", 1),
    ("1–3 days", 3),
    ("3–7 days", 7),
    ("7–14 days", 14),
    ("Over 14 days", None),
)

# Inviters shown on the page (the most active first): all of them are in the CSV download.
TOP_INVITERS = 20


@dataclass(frozen=True)
class Window:
    since: datetime | None  # None: from the first invitation
    until: datetime

    def covers(self, column: ColumnElement[datetime]) -> ColumnElement[bool]:
        upper = column < self.until
        return upper if self.since is None else and_(column >= self.since, upper)


def window(period: str, now: datetime) -> Window:
    _words, days = PERIODS[period]
    return Window(None if days is None else now - timedelta(days=days), now)


def rate(part: int, whole: int) -> float | None:
    """part/whole as a fraction, None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Funnel:
    """E-mail invitations, step by step; joins through share links are counted beside them
    (they have no e-mail to deliver or open)."""

    sent: int
    delivered: int
    opened: int
    joined: int
    delays: tuple[int, ...]  # joins per JOIN_DELAYS bar
    link_joins: int = 0
    approved: int | None = None  # joined and then approved; None while adhesion is off

    @property
    def steps(self) -> tuple[tuple[str, int], ...]:
        steps = (
            ("Sent", self.sent),
            ("Delivered", self.delivered),
            ("Link opened", self.opened),
            ("Joined", self.joined),
        )
        return steps if self.approved is None else (*steps, ("Approved", self.approved))


def _scope(actor: Member) -> ColumnElement[bool]:
    """Whose invitations the actor's analytics count: the unit or organisation they oversee."""
    return oversight(actor).where(Invitation)


def _days_to_join(session: Session) -> ColumnElement[float]:
    """accepted_at - created_at in days: dates subtract differently in each database."""
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", Invitation.accepted_at - Invitation.created_at)
        return seconds / 86400.0
    return func.julianday(Invitation.accepted_at) - func.julianday(Invitation.created_at)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class Tally:
    """One inviter's or unit's e-mail invitations in the period, how many of them joined,
    and how many more joined through their share links."""

    label: str
    sent: int
    joined: int
    link_joins: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.joined, self.sent)


@dataclass(frozen=True)
class Report:
    funnel: Funnel
    inviters: list[Tally]  # every inviter, the most active first
    units: list[Tally]  # per unit, for those who oversee the whole organisation


NO_UNIT = "No unit"


EMAILED = Invitation.source == InvitationSource.EMAIL


def _delay_bars(session: Session) -> list[ColumnElement[int]]:
    days = _days_to_join(session)
    bars, lower = [], None
    for _words, upper in JOIN_DELAYS:
        bar = [EMAILED, Invitation.accepted_at.is_not(None)]
        if lower is not None:
            bar.append(days >= lower)
        if upper is not None:
            bar.append(days < upper)
        bars.append(_count_if(and_(*bar)))
        lower = upper
    return bars


def _counted_invitations(session: Session, actor: Member, *spans: Window) -> Iterable[Row]:
    """Counts per (inviter, unit) of the invitations made in `spans`, read row by row."""
    return session.exec(
        select(
            Invitation.inviter_id,
            Invitation.unit_id,
            _count_if(EMAILED),
            _count_if(and_(EMAILED, Invitation.delivery_status == DeliveryStatus.SENT)),
            _count_if(and_(EMAILED, Invitation.first_visited_at.is_not(None))),
            _count_if(and_(EMAILED, Invitation.accepted_at.is_not(None))),
            _count_if(Invitation.source == InvitationSource.LINK),
            *_delay_bars(session),
        )
        .where(_scope(actor), or_(*(span.covers(Invitation.created_at) for span in spans)))
        .group_by(Invitation.inviter_id, Invitation.unit_id)
    )


_DAILY_COUNTS = (
    InvitationDaily.sent,
    InvitationDaily.delivered,
    InvitationDaily.opened,
    InvitationDaily.joined,
    InvitationDaily.link_joins,
    InvitationDaily.joined_within_1d,
    InvitationDaily.joined_within_3d,
    InvitationDaily.joined_within_7d,
    InvitationDaily.joined_within_14d,
    InvitationDaily.joined_later,
)


def _counted_days(session: Session, actor: Member, first: date | None, last: date) -> Iterable[Row]:
    """The same counts summed from invitation_daily, for the whole days first..last-1."""
    days = InvitationDaily.day < last
    if first is not None:
        days = and_(InvitationDaily.day >= first, days)
    return session.exec(
        select(
            InvitationDaily.inviter_id,
            # 0 in the table's key is "no unit"
            func.nullif(InvitationDaily.unit_id, 0),
            *(func.coalesce(func.sum(column), 0) for column in _DAILY_COUNTS),
        )
        .where(oversight(actor).where(InvitationDaily), days)
        .group_by(InvitationDaily.inviter_id, InvitationDaily.unit_id)
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def report(session: Session, actor: Member, period: Window) -> Report:
    """The funnel, the time to join, and the tallies per inviter and per unit.

    The period's whole days are summed from invitation_daily (a row per day, inviter and
    unit); only the part-days at its ends are read invitation by invitation. So a year of a
    million invitations costs a few thousand rows, and the answer is the same as counting
    every invitation (report_from_invitations, which the tests compare it with)."""
    last = period.until.astimezone(UTC).date()
    if period.since is None:
        first = None
        edges = [Window(_midnight(last), period.until)]
    else:
        since = period.since.astimezone(UTC)
        first = since.date() if since == _midnight(since.date()) else since.date() + timedelta(1)
        if first >= last:  # under a day or two: no whole day to sum
            return report_from_invitations(session, actor, period)
        edges = [Window(period.since, _midnight(first)), Window(_midnight(last), period.until)]
    rows = chain(
        _counted_days(session, actor, first, last),
        _counted_invitations(session, actor, *edges),
    )
    return _report(session, actor, rows, _approved(session, actor, period))


def report_from_invitations(session: Session, actor: Member, period: Window) -> Report:
    """The report counted from the invitations alone: what invitation_daily must agree with."""
    rows = _counted_invitations(session, actor, period)
    return _report(session, actor, rows, _approved(session, actor, period))


def _approved(session: Session, actor: Member, period: Window) -> int | None:
    """With adhesion on, the funnel's last step: e-mailed invitations of the period whose
    applicant was approved. Counted by joining the approved applications (at most one per
    join, so a fraction of the invitations) to their invitations; None while it is off."""
    settings = session.get(MembershipSettings, actor.organization_id)
    if settings is None or not settings.approval_required:
        return None
    return session.exec(
        select(func.count())
        .select_from(MembershipApplication)
        .join(Invitation, Invitation.id == MembershipApplication.invitation_id)
        .where(
            MembershipApplication.organization_id == actor.organization_id,
            MembershipApplication.status == ApplicationStatus.APPROVED,
            _scope(actor),
            EMAILED,
            period.covers(Invitation.created_at),
        )
    ).one()


def _report(session: Session, actor: Member, rows: Iterable[Row], approved: int | None) -> Report:
    """Counts per (inviter, unit), summed into the funnel and the tallies per inviter and
    per unit (one pass: a query per view would read the period once each)."""
    totals = [0] * (5 + len(JOIN_DELAYS))
    per_inviter: dict[int, list[int]] = {}
    per_unit: dict[int | None, list[int]] = {}
    for inviter_id, unit_id, *counts in rows:
        totals = [t + int(c) for t, c in zip(totals, counts, strict=True)]
        for key, tallies in ((inviter_id, per_inviter), (unit_id, per_unit)):
            tally = tallies.setdefault(key, [0, 0, 0])
            tally[0] += int(counts[0])
            tally[1] += int(counts[3])
            tally[2] += int(counts[4])
    sent, delivered, opened, joined, link_joins, *delays = totals
    names = _names(session, Member, per_inviter)
    inviters = [Tally(names.get(k, "—"), *v) for k, v in per_inviter.items()]
    units: list[Tally] = []
    if actor.role_enum.is_tenant_wide:
        unit_names = _names(session, Unit, [k for k in per_unit if k is not None])
        units = [
            Tally(unit_names.get(k, NO_UNIT) if k else NO_UNIT, *v) for k, v in per_unit.items()
        ]
    return Report(
        Funnel(sent, delivered, opened, joined, tuple(delays), link_joins, approved),
        sorted(inviters, key=_most_active),
        sorted(units, key=_most_active),
    )


def _most_active(tally: Tally) -> tuple[int, int, str]:
    return (-tally.sent, -(tally.joined + tally.link_joins), tally.label)


def _names(
    session: Session, model: type[Member] | type[Unit], ids: Iterable[int]
) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    label = model.full_name if model is Member else model.name
    found = session.exec(select(model.id, label).where(model.id.in_(wanted)))
    return dict(found.all())


# --- the leaderboard -------------------------------------------------------------------------

BOARD_PERIODS = {"month": "This month", "quarter": "This quarter", "all": "All time"}
BOARD_SIZE = 10


def board_since(period: str, now: datetime) -> datetime | None:
    """The start of this calendar month or quarter (UTC), or None for all time."""
    if period == "all":
        return None
    month = now.month if period == "month" else 3 * ((now.month - 1) // 3) + 1
    return datetime(now.year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Place:
    rank: int
    member_id: int
    name: str
    joins: int


def leaderboard(
    session: Session, organization_id: int, unit_id: int | None, since: datetime | None
) -> list[Place]:
    """The members whose invitations brought the most joins since `since`, in their
    organisation or one unit; equal counts share a rank."""
    joined = select(Invitation.inviter_id.label("inviter_id"), func.count().label("joins")).where(
        Invitation.organization_id == organization_id,
        Invitation.accepted_at.is_not(None),
        true() if since is None else Invitation.accepted_at >= since,
    )
    if unit_id is not None:
        joined = joined.where(Invitation.unit_id == unit_id)
    counted = joined.group_by(Invitation.inviter_id).subquery()
    ranked = func.rank().over(order_by=counted.c.joins.desc())
    statement = (
        select(cast(ranked, Integer), Member.id, Member.full_name, counted.c.joins)
        .join(counted, counted.c.inviter_id == Member.id)
        .order_by(counted.c.joins.desc(), Member.full_name)
        .limit(BOARD_SIZE)
    )
    return [Place(int(r), mid, name, int(n)) for r, mid, name, n in session.exec(statement)]
