"""Reading applications: the Applications list in the actor's oversight (keyset on id,
newest first), one application with its people, and the sponsors' track records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from portal.models import (
    ApplicationStatus,
    Invitation,
    InvitationStatus,
    Member,
    MembershipApplication,
)
from portal.policy import oversight

PAGE_SIZE = 25


@dataclass(frozen=True)
class SponsorRecord:
    """A sponsor's past: how many of their invitations were accepted, how many of the
    applications they sponsored were approved (of those decided)."""

    invitations: int
    accepted: int
    decided: int
    approved: int

    @staticmethod
    def _rate(part: int, whole: int) -> str:
        return f"{round(100 * part / whole)}%" if whole else "—"

    @property
    def acceptance_rate(self) -> str:
        return self._rate(self.accepted, self.invitations)

    @property
    def approval_rate(self) -> str:
        return self._rate(self.approved, self.decided)


NO_RECORD = SponsorRecord(0, 0, 0, 0)


@dataclass(frozen=True)
class ApplicationRow:
    application: MembershipApplication
    applicant: Member
    sponsor: Member | None
    record: SponsorRecord


@dataclass(frozen=True)
class Page:
    rows: list[ApplicationRow]
    next_before: int | None


def applications(
    session: Session,
    actor: Member,
    status: ApplicationStatus = ApplicationStatus.PENDING,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A page of the applications the actor oversees, in four queries whatever its size
    (applications with applicants, sponsors, then their two track records)."""
    where = [
        oversight(actor).where(MembershipApplication),
        MembershipApplication.status == status.value,
    ]
    if before is not None:
        where.append(col(MembershipApplication.id) < before)
    found = session.exec(
        select(MembershipApplication, Member)
        .join(Member, col(Member.id) == MembershipApplication.member_id)
        .where(*where)
        .order_by(col(MembershipApplication.id).desc())
        .limit(limit + 1)
    ).all()
    more = len(found) > limit
    found = found[:limit]
    rows = _with_sponsors(session, list(found))
    return Page(rows, rows[-1].application.id if more and rows else None)


def one(session: Session, application: MembershipApplication) -> ApplicationRow:
    applicant = session.get(Member, application.member_id)
    assert applicant is not None
    return _with_sponsors(session, [(application, applicant)])[0]


def _with_sponsors(
    session: Session, found: list[tuple[MembershipApplication, Member]]
) -> list[ApplicationRow]:
    sponsor_ids = {a.sponsor_id for a, _m in found if a.sponsor_id is not None}
    sponsors = (
        {m.id: m for m in session.exec(select(Member).where(col(Member.id).in_(sponsor_ids)))}
        if sponsor_ids
        else {}
    )
    records = sponsor_records(session, sponsor_ids)
    return [
        ApplicationRow(
            application,
            applicant,
            sponsors.get(application.sponsor_id) if application.sponsor_id else None,
            records.get(application.sponsor_id, NO_RECORD) if application.sponsor_id else NO_RECORD,
        )
        for application, applicant in found
    ]


def sponsor_records(session: Session, sponsor_ids: set[int]) -> dict[int, SponsorRecord]:
    """Each sponsor's invitations (accepted of sent) and sponsored applications (approved of
    decided): two grouped queries for any number of sponsors."""
    if not sponsor_ids:
        return {}
    accepted = InvitationStatus.ACCEPTED.value
    sent = {
        inviter: (total, yes)
        for inviter, total, yes in session.exec(
            select(
                Invitation.inviter_id,
                func.count(),
                func.sum(case((col(Invitation.status) == accepted, 1), else_=0)),
            )
            .where(col(Invitation.inviter_id).in_(sponsor_ids))
            .group_by(col(Invitation.inviter_id))
        ).all()
    }
    decided_statuses = (ApplicationStatus.APPROVED.value, ApplicationStatus.REJECTED.value)
    approved_value = ApplicationStatus.APPROVED.value
    decided = {
        sponsor: (total, yes)
        for sponsor, total, yes in session.exec(
            select(
                MembershipApplication.sponsor_id,
                func.count(),
                func.sum(case((col(MembershipApplication.status) == approved_value, 1), else_=0)),
            )
            .where(
                col(MembershipApplication.sponsor_id).in_(sponsor_ids),
                col(MembershipApplication.status).in_(decided_statuses),
            )
            .group_by(col(MembershipApplication.sponsor_id))
        ).all()
    }
    return {
        sponsor: SponsorRecord(
            int(sent.get(sponsor, (0, 0))[0]),
            int(sent.get(sponsor, (0, 0))[1] or 0),
            int(decided.get(sponsor, (0, 0))[0]),
            int(decided.get(sponsor, (0, 0))[1] or 0),
        )
        for sponsor in sponsor_ids
    }


def pending_invitation_ids(session: Session, invitation_ids: list[int]) -> set[int]:
    """Which of these (accepted) invitations joined a member still awaiting approval: the
    dashboard's "Joined — awaiting approval", in one query for a page of rows."""
    if not invitation_ids:
        return set()
    return set(
        session.exec(
            select(MembershipApplication.invitation_id).where(
                col(MembershipApplication.invitation_id).in_(invitation_ids),
                MembershipApplication.status == ApplicationStatus.PENDING.value,
            )
        ).all()
    )


def approved_among_invitations(
    session: Session, organization_id: int, since: datetime, until: datetime
) -> int:
    """For the analytics funnel's "approved" step: invitations created in [since, until)
    whose applicant was approved."""
    return session.exec(
        select(func.count())
        .select_from(MembershipApplication)
        .join(Invitation, col(Invitation.id) == MembershipApplication.invitation_id)
        .where(
            Invitation.organization_id == organization_id,
            col(Invitation.created_at) >= since,
            col(Invitation.created_at) < until,
            MembershipApplication.status == ApplicationStatus.APPROVED.value,
        )
    ).one()


def public_ids(session: Session, rows: list[MembershipApplication]) -> dict[int, str]:
    """The invitations' and deciders' public ids for a page of applications, in two queries:
    invitation ids as keys, deciders' member ids negated (one map, no clash)."""
    invitation_ids = {a.invitation_id for a in rows if a.invitation_id}
    decider_ids = {a.decided_by_id for a in rows if a.decided_by_id}
    found: dict[int, str] = {}
    if invitation_ids:
        found.update(
            session.exec(
                select(Invitation.id, Invitation.public_id).where(
                    col(Invitation.id).in_(invitation_ids)
                )
            ).all()
        )
    if decider_ids:
        found.update(
            (-member_id, public_id)
            for member_id, public_id in session.exec(
                select(Member.id, Member.public_id).where(col(Member.id).in_(decider_ids))
            ).all()
        )
    return found
