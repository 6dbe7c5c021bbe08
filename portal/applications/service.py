"""Membership applications: made when someone joins (an invitation, a share link, or open
registration at /register), decided once by HR or an admin in scope.

Lifecycle: a join under adhesion makes the member `pending_approval` and the application
`pending`; approve → the member is `active`, reject → `disabled` (their sessions end).
Deciding is one conditional update (`… WHERE status = 'pending'`), so two HR members
deciding at once decide it once, and the second is told who was first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from portal.applications import hooks
from portal.applications.questions import (
    clean_answers,
    clean_reason,
    needs_approval,
    questions_of,
    settings_of,
)
from portal.audit import service as audit
from portal.auth.service import end_sessions
from portal.delivery.outbox import enqueue_email
from portal.email_addresses import MailReach
from portal.errors import AlreadyDecided, Invalid, RegistrationClosed
from portal.lookups import get_in_org
from portal.models import (
    ApplicationStatus,
    Invitation,
    Member,
    MembershipApplication,
    Organization,
    Unit,
)
from portal.orgs.service import create_member
from portal.policy import may_approve_adhesion, may_review_applications, require
from portal.roles import MemberStatus
from portal.validation import check_text
from portal.webhooks.service import emit, rfc3339

NOTE_MAX = 1000


def record_join(
    session: Session,
    member: Member,
    *,
    raw_answers: dict[str, Any],
    reason: str | None,
    now: datetime,
) -> MembershipApplication | None:
    """After a join in the same transaction: check the registration form's answers and, under
    adhesion, put the member on hold with a pending application (APPLICATION_SUBMITTED).
    Without adhesion, answers (if the form had questions) are kept on a `not_required` row.
    Raises Invalid on a bad answer, which rolls the whole join back."""
    invitation = session.get(Invitation, member.invitation_id) if member.invitation_id else None
    settings = settings_of(session, member.organization_id)
    sponsor = session.get(Member, member.invited_by_id) if member.invited_by_id else None
    pending = needs_approval(settings, sponsor.role_enum if sponsor else None)
    questions = questions_of(session, member.organization_id)
    answers = clean_answers(questions, raw_answers)
    cleaned_reason = clean_reason(settings, reason) if pending else ""
    if not pending and not answers:
        return None
    application = MembershipApplication(
        organization_id=member.organization_id,
        unit_id=member.unit_id,
        member_id=member.id,
        invitation_id=invitation.id if invitation else None,
        sponsor_id=sponsor.id if sponsor else None,
        status=(ApplicationStatus.PENDING if pending else ApplicationStatus.NOT_REQUIRED).value,
        reason=cleaned_reason,
        answers=answers,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    if pending:
        member.status = MemberStatus.PENDING_APPROVAL.value
        session.add(member)
    session.flush()
    if pending:
        emit_application_event(session, "APPLICATION_SUBMITTED", application, member, now)
    return application


def register(
    session: Session,
    organization: Organization,
    *,
    email: str,
    full_name: str,
    password: str,
    raw_answers: dict[str, Any],
    reason: str | None,
    now: datetime,
    reach: MailReach | None,
) -> tuple[Member, MembershipApplication | None]:
    """Open registration (/register): a member with no inviter, on hold under adhesion."""
    if not settings_of(session, organization.id).open_registration:
        raise RegistrationClosed(
            f"{organization.name} takes new members by invitation only. Ask a member to invite you."
        )
    assert organization.id is not None
    member = create_member(
        session,
        organization,
        email=email,
        full_name=full_name,
        password=password,
        now=now,
        reach=reach,
    )
    audit.member_created(session, None, member, now)
    application = record_join(session, member, raw_answers=raw_answers, reason=reason, now=now)
    return member, application


def get_for_actor(session: Session, actor: Member, public_id: str) -> MembershipApplication:
    require(may_review_applications(actor))
    application = get_in_org(
        session,
        MembershipApplication,
        actor.organization_id,
        public_id,
        "There is no application with this id.",
    )
    require(may_approve_adhesion(actor, application))
    return application


def own_application(session: Session, member: Member) -> MembershipApplication | None:
    return session.exec(
        select(MembershipApplication).where(MembershipApplication.member_id == member.id)
    ).first()


def decide(
    session: Session,
    actor: Member,
    application: MembershipApplication,
    *,
    approve: bool,
    note: str,
    now: datetime,
) -> MembershipApplication:
    """Approve or reject, once: the conditional update lets exactly one decision through."""
    require(may_review_applications(actor))
    require(may_approve_adhesion(actor, application))
    note = note.strip()
    check_text(note, field="note", what="The note", multiline=True)
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note can be at most {NOTE_MAX} characters.", field="note")
    status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    won = session.execute(
        update(MembershipApplication)
        .where(
            MembershipApplication.id == application.id,
            MembershipApplication.status == ApplicationStatus.PENDING.value,
        )
        .values(
            status=status.value,
            decision_note=note,
            decided_by_id=actor.id,
            decided_at=now,
            updated_at=now,
        )
    ).rowcount
    session.refresh(application)
    if won != 1:
        raise AlreadyDecided(_already_decided(session, application), field="decision")
    member = session.get(Member, application.member_id)
    assert member is not None
    member.status = (MemberStatus.ACTIVE if approve else MemberStatus.DISABLED).value
    session.add(member)
    session.flush()
    if not approve:
        end_sessions(session, member)
    audit.record(
        session,
        actor,
        "application.approved" if approve else "application.rejected",
        audit.Target("application", application.public_id, member.full_name),
        before={"status": ApplicationStatus.PENDING.value},
        after={"status": status.value, "note": note},
        organization_id=application.organization_id,
        now=now,
    )
    enqueue_email(
        session,
        "application_decided",
        f"decided-{application.public_id}",
        now,
        organization_id=application.organization_id,
        invitation_id=application.invitation_id,
        application_id=application.id,
    )
    emit_application_event(
        session,
        "APPLICATION_APPROVED" if approve else "APPLICATION_REJECTED",
        application,
        member,
        now,
    )
    if approve:
        invitation = (
            session.get(Invitation, application.invitation_id)
            if application.invitation_id
            else None
        )
        hooks.application_approved(hooks.Approved(session, application, member, invitation, now))
    return application


def _already_decided(session: Session, application: MembershipApplication) -> str:
    if application.status == ApplicationStatus.NOT_REQUIRED:
        return "This join didn't need approval."
    who = session.get(Member, application.decided_by_id) if application.decided_by_id else None
    verb = "approved" if application.status == ApplicationStatus.APPROVED else "rejected"
    by = f" by {who.full_name}" if who else ""
    return f"This application was already {verb}{by}. Nothing was changed."


def emit_application_event(
    session: Session,
    event_type: str,
    application: MembershipApplication,
    member: Member,
    now: datetime,
) -> None:
    """APPLICATION_SUBMITTED / _APPROVED / _REJECTED in the DESIGN §7 envelope."""
    emit(
        session,
        application.organization_id,
        event_type,
        event_data(session, application, member),
        now,
    )


def event_data(
    session: Session, application: MembershipApplication, member: Member
) -> dict[str, Any]:
    sponsor = session.get(Member, application.sponsor_id) if application.sponsor_id else None
    invitation = (
        session.get(Invitation, application.invitation_id) if application.invitation_id else None
    )
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    return {
        "applicationId": application.public_id,
        "userId": member.public_id,
        "email": member.email,
        "inviteId": invitation.public_id if invitation else None,
        "sponsorId": sponsor.public_id if sponsor else None,
        "unit": unit.name if unit else None,
        "status": application.status,
        "decidedAt": rfc3339(application.decided_at) if application.decided_at else None,
    }
