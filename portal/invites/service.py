"""The invitation lifecycle (DESIGN §3): send, resend, extend, revoke, open a link, accept.

Plain functions over a session: no Flask, no commit. Every refusal is a DomainError with a
message a member can act on; the caller commits once when nothing was raised.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from portal import sealing
from portal.audit import service as audit
from portal.delivery.outbox import enqueue_email
from portal.email_addresses import ASCII_ONLY, MailReach, normalise_email
from portal.errors import (
    AccountExists,
    AlreadyMember,
    Conflict,
    DailyLimit,
    DomainError,
    DuplicatePending,
    Invalid,
    InvalidInvite,
    InviteExpired,
    InviteRevoked,
    InviteSuperseded,
    InviteUsed,
    NoSuchTemplate,
)
from portal.invites import hooks
from portal.invites.events import emit_invite_event
from portal.lookups import find_in_org
from portal.models import (
    DeliveryStatus,
    EmailTemplate,
    Invitation,
    InvitationSend,
    InvitationSettings,
    InvitationStatus,
    Member,
    Organization,
    RefusedSend,
    RetiredSecret,
    Unit,
)
from portal.orgs.service import create_member, email_taken, settings_for
from portal.policy import may_manage_invitation, may_send_invitations, require
from portal.text import day, when
from portal.validation import check_text

MAX_MESSAGE = 1000
MAX_NAME = 200
MAX_PART_NAME = 100
PER_ADDRESS_DAILY = 3
DAY = timedelta(hours=24)
# A second identical submission within this window is the same click, not a new invitation.
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=30)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def effective_status(invitation: Invitation, now: datetime) -> InvitationStatus:
    """The one place status is derived: a pending invitation past its expiry *is* expired."""
    if invitation.status == InvitationStatus.PENDING and invitation.expires_at <= now:
        return InvitationStatus.EXPIRED
    return InvitationStatus(invitation.status)


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    created: bool  # False when a double submit returned the invitation already sent
    # The link's secret, handed back only when it was just created (the API shows it once in
    # its 201 response); None for a double submit, whose secret exists only as a digest.
    secret: str | None = None


# --- sending ------------------------------------------------------------------------------


def _clean_text(
    value: str | None, limit: int, field: str, what: str, multiline: bool = False
) -> str:
    cleaned = (value or "").replace("\r\n", "\n").strip()
    check_text(cleaned, field=field, what=what, multiline=multiline)
    if len(cleaned) > limit:
        raise Invalid(
            f"{what} can be at most {limit:,} characters (it has {len(cleaned):,}).", field=field
        )
    return cleaned


def _check_address_limit(session: Session, org_id: int, email: str, now: datetime) -> None:
    since = now - DAY
    to_address = session.exec(
        select(func.count(), func.min(InvitationSend.sent_at)).where(
            InvitationSend.organization_id == org_id,
            InvitationSend.email == email,
            InvitationSend.sent_at > since,
        )
    ).one()
    if to_address[0] >= PER_ADDRESS_DAILY:
        raise DailyLimit(
            f"{email} has already been sent {PER_ADDRESS_DAILY} invitations in the last 24 hours "
            f"(the most any address gets in a day). You can invite them again after "
            f"{when(to_address[1] + DAY)}.",
            field="email",
        )


def _check_sender_limit(session: Session, sender: Member, limit: int, now: datetime) -> None:
    """Sends and refused sends both count, so that refusals can't probe addresses for free."""
    since = now - DAY
    sent, first_sent = session.exec(
        select(func.count(), func.min(InvitationSend.sent_at)).where(
            InvitationSend.sender_id == sender.id, InvitationSend.sent_at > since
        )
    ).one()
    refused, first_refused = session.exec(
        select(func.count(), func.min(RefusedSend.refused_at)).where(
            RefusedSend.sender_id == sender.id, RefusedSend.refused_at > since
        )
    ).one()
    if sent + refused >= limit:
        oldest = min(moment for moment in (first_sent, first_refused) if moment is not None)
        tried = f" and tried {refused} more that were refused" if refused else ""
        raise DailyLimit(
            f"You have sent {sent} invitations{tried} in the last 24 hours, your daily limit. "
            f"It resets at {when(oldest + DAY)}."
        )


def sends_in_last_day(session: Session, sender: Member, now: datetime) -> int:
    """What `sender`'s daily limit already holds: sends and counted refusals."""
    since = now - DAY
    sent = session.exec(
        select(func.count()).where(
            InvitationSend.sender_id == sender.id, InvitationSend.sent_at > since
        )
    ).one()
    refused = session.exec(
        select(func.count()).where(
            RefusedSend.sender_id == sender.id, RefusedSend.refused_at > since
        )
    ).one()
    return sent + refused


def _check_daily_limits(
    session: Session, org_id: int, email: str, sender: Member, limit: int, now: datetime
) -> None:
    _check_address_limit(session, org_id, email, now)
    _check_sender_limit(session, sender, limit, now)


# Refusals that answer a question about the address (does it have an account? is it
# invited?): each one counts against the sender's daily limit like a send.
COUNTED_REFUSALS: tuple[type[DomainError], ...] = (AlreadyMember, DuplicatePending)


def counts_against_limit(error: DomainError) -> bool:
    return isinstance(error, COUNTED_REFUSALS)


def record_refused_send(
    session: Session, sender: Member, error: DomainError, now: datetime
) -> None:
    """Count a refused send against `sender`'s daily limit. The refusal rolled its own
    transaction back, so the caller commits this one separately."""
    session.execute(
        delete(RefusedSend).where(
            RefusedSend.sender_id == sender.id, RefusedSend.refused_at <= now - DAY
        )
    )
    session.add(
        RefusedSend(
            organization_id=sender.organization_id,
            sender_id=sender.id,
            code=error.code,
            refused_at=now,
        )
    )


def _record_send(
    session: Session, invitation: Invitation, sender: Member, secret: str, now: datetime
) -> None:
    session.add(
        InvitationSend(
            organization_id=invitation.organization_id,
            invitation_id=invitation.id,
            sender_id=sender.id,
            email=invitation.email,
            sent_at=now,
        )
    )
    enqueue_email(
        session,
        "invitation",
        f"invitation-{invitation.public_id}-{invitation.send_count}",
        now,
        organization_id=invitation.organization_id,
        invitation_id=invitation.id,
        send_number=invitation.send_count,
        sealed_secret=sealing.seal(secret),
    )


def _as_sent(invitation: Invitation) -> tuple[str, str, str, str, int | None]:
    """What a double submit must repeat exactly to be taken for the same click."""
    return (
        invitation.full_name,
        invitation.first_name,
        invitation.last_name,
        invitation.message,
        invitation.template_id,
    )


def find_pending(session: Session, org_id: int, email: str) -> Invitation | None:
    return session.exec(
        select(Invitation).where(
            Invitation.organization_id == org_id,
            Invitation.email == email,
            Invitation.status == InvitationStatus.PENDING,
        )
    ).first()


def _template_id(session: Session, organization_id: int, public_id: str | None) -> int | None:
    """The row id of one of the organisation's e-mail templates; another organisation's
    template is as unknown as one that doesn't exist."""
    if not public_id:
        return None
    template = find_in_org(session, EmailTemplate, organization_id, public_id)
    if template is None:
        raise NoSuchTemplate("There is no such e-mail template.", field="template_id")
    return template.id


def check_fields(
    email: str, full_name: str, message: str, *, reach: MailReach = ASCII_ONLY
) -> tuple[str, str, str]:
    """What send_invitation makes of these fields on their own, before any lookup: the
    cleaned values, or the same refusal (a bulk upload's preview checks every row so)."""
    return (
        normalise_email(email, reach=reach, purpose="invited"),
        _clean_text(full_name, MAX_NAME, "full_name", "A name"),
        _clean_text(message, MAX_MESSAGE, "message", "The personal message", multiline=True),
    )


def already_member(email: str) -> AlreadyMember:
    # The same words whichever organisation the account is in: an organisation must not
    # learn that an address is registered elsewhere.
    return AlreadyMember(f"{email} already has an account, so it can't be invited.", field="email")


def already_invited(actor: Member, pending: Invitation) -> DuplicatePending:
    if may_manage_invitation(actor, pending):
        refusal = (
            f"{pending.email} already has a pending invitation, sent "
            f"{when(pending.sent_at)}. Resend it instead of creating another."
        )
    else:  # someone else's: say no more than needed
        refusal = f"{pending.email} has already been invited by another member."
    return DuplicatePending(refusal, field="email", invitation=pending)


def send_invitation(
    session: Session,
    actor: Member,
    *,
    email: str,
    full_name: str = "",
    first_name: str = "",
    last_name: str = "",
    message: str = "",
    template_public_id: str | None = None,
    now: datetime,
    unit_id: int | None = None,
    reach: MailReach = ASCII_ONLY,
    double_submit: bool = True,
    daily_limit: int | None = None,
) -> Sent:
    """Create a pending invitation and queue its e-mail.

    `template_public_id` (an EmailTemplate of the actor's organisation, else NoSuchTemplate)
    words the e-mail; without it the organisation's default template, or the built-in one,
    is used. `reach` says which
    addresses the mail server can deliver to (portal.delivery.smtp.reach). With
    `double_submit`, the same request repeated by the same sender within
    DOUBLE_SUBMIT_WINDOW answers with the invitation already sent (the web form's double
    click); the API turns it off, as its clients retry with an Idempotency-Key instead.

    Refusals for which counts_against_limit() is true should be recorded by the caller with
    record_refused_send once this transaction has been rolled back.

    `daily_limit` is a higher limit the caller had an admin confirm for this send (a bulk
    job's, portal.bulk); it never lowers the organisation's.
    """
    # Before the rules about who sends: a wrong id is the caller's mistake whoever sends.
    template_id = _template_id(session, actor.organization_id, template_public_id)
    settings = settings_for(session, actor.organization_id)
    require(may_send_invitations(actor, settings, unit_id))
    # Before anything about the address is looked up: at the limit, no more answers.
    limit = max(settings.daily_limit_per_member, daily_limit or 0)
    _check_sender_limit(session, actor, limit, now)
    email = normalise_email(email, reach=reach, purpose="invited")
    first_name = _clean_text(first_name, MAX_PART_NAME, "first_name", "A first name")
    last_name = _clean_text(last_name, MAX_PART_NAME, "last_name", "A last name")
    full_name = _clean_text(
        full_name or " ".join(p for p in (first_name, last_name) if p),
        MAX_NAME,
        "full_name",
        "A name",
    )
    message = _clean_text(message, MAX_MESSAGE, "message", "The personal message", multiline=True)
    if email == actor.email:
        raise Invalid("You can't invite yourself.", field="email")
    if email_taken(session, email):
        raise already_member(email)
    if pending := find_pending(session, actor.organization_id, email):
        requested = (full_name, first_name, last_name, message, template_id)
        if expire_if_due(session, pending, now):
            pass  # the address is free again
        elif (
            double_submit
            and pending.inviter_id == actor.id
            and now - pending.sent_at < DOUBLE_SUBMIT_WINDOW
            and requested == _as_sent(pending)
        ):
            return Sent(pending, created=False)
        else:
            raise already_invited(actor, pending)
    _check_address_limit(session, actor.organization_id, email, now)
    secret, secret_digest = new_secret()
    invitation = Invitation(
        organization_id=actor.organization_id,
        unit_id=actor.unit_id if unit_id is None else unit_id,
        inviter_id=actor.id,
        email=email,
        full_name=full_name,
        first_name=first_name,
        last_name=last_name,
        message=message,
        template_id=template_id,
        secret_digest=secret_digest,
        created_at=now,
        updated_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=settings.expiry_days),
    )
    session.add(invitation)
    session.flush()  # the partial unique index refuses a racing duplicate here
    _record_send(session, invitation, actor, secret, now)
    return Sent(invitation, created=True, secret=secret)


# --- managing -----------------------------------------------------------------------------


def get_for_actor(session: Session, actor: Member, public_id: str) -> Invitation:
    """An invitation the actor may manage; anything else looks like it doesn't exist."""
    invitation = find_in_org(session, Invitation, actor.organization_id, public_id)
    if invitation is None or not may_manage_invitation(actor, invitation):
        raise InvalidInvite("There is no such invitation, or it isn't yours to manage.")
    return invitation


def resend(session: Session, actor: Member, invitation: Invitation, now: datetime) -> Invitation:
    """A fresh secret and expiry; the old link stops working and says a newer one was sent."""
    require(may_manage_invitation(actor, invitation))
    status = effective_status(invitation, now)
    if status is InvitationStatus.ACCEPTED:
        raise Conflict(f"{invitation.email} has already joined; there is nothing to resend.")
    if status is InvitationStatus.REVOKED:
        raise Conflict("This invitation was revoked. Send a new invitation instead.")
    settings = settings_for(session, invitation.organization_id)
    # Resending sends an e-mail: the organisation must allow this actor to send one now.
    require(may_send_invitations(actor, settings, invitation.unit_id))
    other = find_pending(session, invitation.organization_id, invitation.email)
    if other is not None and other.id != invitation.id and not expire_if_due(session, other, now):
        raise DuplicatePending(
            f"{invitation.email} already has a newer pending invitation.", invitation=other
        )
    _check_daily_limits(
        session,
        invitation.organization_id,
        invitation.email,
        actor,
        settings.daily_limit_per_member,
        now,
    )
    session.add(
        RetiredSecret(digest=invitation.secret_digest, invitation_id=invitation.id, retired_at=now)
    )
    secret, invitation.secret_digest = new_secret()
    invitation.status = InvitationStatus.PENDING.value
    invitation.sent_at = invitation.updated_at = now
    invitation.expires_at = now + timedelta(days=settings.expiry_days)
    invitation.delivery_status = DeliveryStatus.QUEUED.value
    invitation.delivery_error = ""
    invitation.renewal_requested_at = None
    invitation.send_count += 1
    session.add(invitation)
    session.flush()
    _record_send(session, invitation, actor, secret, now)
    return invitation


def extend(session: Session, actor: Member, invitation: Invitation, now: datetime) -> Invitation:
    """Push a pending invitation's expiry by the organisation's period, without a new e-mail."""
    require(may_manage_invitation(actor, invitation))
    if effective_status(invitation, now) is not InvitationStatus.PENDING:
        raise Conflict("Only pending invitations can be extended. Use Resend for an expired one.")
    settings = settings_for(session, invitation.organization_id)
    # Extending keeps a link open for longer: like sending, only while the organisation allows.
    require(may_send_invitations(actor, settings, invitation.unit_id))
    # Counted from the last (re)send, so repeated clicks can't keep one link open forever.
    latest = invitation.sent_at + timedelta(days=settings.max_validity_days)
    if invitation.expires_at >= latest:
        raise Conflict(
            f"This invitation is valid until {day(invitation.expires_at)}, the longest your "
            f"organisation keeps an invitation open ({settings.max_validity_days} days after "
            "it was sent), so it can't be extended. To give them more time, use Resend: it "
            f"sends a new link that is valid for {settings.expiry_days} days."
        )
    invitation.expires_at = min(
        invitation.expires_at + timedelta(days=settings.expiry_days), latest
    )
    invitation.updated_at = now
    session.add(invitation)
    return invitation


def revoke(session: Session, actor: Member, invitation: Invitation, now: datetime) -> Invitation:
    require(may_manage_invitation(actor, invitation))
    if effective_status(invitation, now) is not InvitationStatus.PENDING:
        raise Conflict("Only pending invitations can be revoked.")
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)
        .values(status=InvitationStatus.REVOKED.value, revoked_at=now, updated_at=now)
    ).rowcount
    if changed != 1:
        raise Conflict("This invitation changed in the meantime (it was just accepted or revoked).")
    session.refresh(invitation)
    emit_invite_event(session, "INVITE_REVOKED", invitation, now)
    if actor.id != invitation.inviter_id:
        # Someone overruled the inviter (HR, an admin): that is the organisation's business.
        inviter = session.get(Member, invitation.inviter_id)
        label = f"{invitation.email}, invited by {inviter.full_name if inviter else 'a member'}"
        audit.record(
            session,
            actor,
            "invitation.revoked",
            audit.Target("invitation", invitation.public_id, label),
            before={"status": InvitationStatus.PENDING.value},
            after={"status": InvitationStatus.REVOKED.value},
            now=now,
        )
    return invitation


# --- the invitee's side -------------------------------------------------------------------


@dataclass(frozen=True)
class Landing:
    invitation: Invitation
    organization: Organization
    inviter: Member
    bind_email: bool


def _inviter_name(session: Session, invitation: Invitation) -> str:
    inviter = session.get(Member, invitation.inviter_id)
    return inviter.full_name if inviter else "the person who invited you"


def open_link(
    session: Session, secret_digest: str, now: datetime, organization_id: int | None = None
) -> Landing:
    """Check a link without consuming it (mail scanners open links too).

    With `organization_id` (an API token's), another organisation's link reads as unknown."""
    # The invitation with what its page shows, in one query (this is the landing page's cost).
    found = session.exec(
        select(Invitation, Organization, Member, InvitationSettings)
        .join(Organization, Organization.id == Invitation.organization_id)
        .join(Member, Member.id == Invitation.inviter_id)
        .join(InvitationSettings, InvitationSettings.organization_id == Invitation.organization_id)
        .where(Invitation.secret_digest == secret_digest)
    ).first()
    invitation = found[0] if found else None
    retired = session.get(RetiredSecret, secret_digest) if invitation is None else None
    owner = invitation or (session.get(Invitation, retired.invitation_id) if retired else None)
    if owner is not None and organization_id not in (None, owner.organization_id):
        invitation = retired = None
    if invitation is None:
        if retired is not None:
            raise InviteSuperseded(
                "A newer invitation was sent to this address, so this link no longer works. "
                "Use the link in the most recent invitation e-mail."
            )
        raise InvalidInvite(
            "This invitation link isn't valid. Check that you copied the whole link from the "
            "e-mail, or ask for a new invitation."
        )
    status = effective_status(invitation, now)
    if status is InvitationStatus.EXPIRED:
        raise InviteExpired(
            f"This invitation expired on {day(invitation.expires_at)}. "
            f"Ask {_inviter_name(session, invitation)} to send a new one.",
            invitation=invitation,
        )
    if status is InvitationStatus.REVOKED:
        raise InviteRevoked(
            "This invitation was withdrawn by the organisation. If you think that's a mistake, "
            f"contact {_inviter_name(session, invitation)}."
        )
    if status is InvitationStatus.ACCEPTED:
        raise InviteUsed("This invitation has already been used to join. Log in instead.")
    if invitation.first_visited_at is None:
        invitation.first_visited_at = now
        session.add(invitation)
    assert found is not None
    _invitation, organization, inviter, settings = found
    return Landing(invitation, organization, inviter, settings.bind_invitee_email)


def accept(
    session: Session,
    secret_digest: str,
    *,
    email: str,
    full_name: str,
    password: str | None,
    now: datetime,
    organization_id: int | None = None,
    reach: MailReach = ASCII_ONLY,
    device_digest: str | None = None,
) -> Member:
    """Register through a link: one conditional update decides, so one link makes one member.
    `organization_id` limits the link to one organisation (see open_link); `reach` says which
    addresses the mail server can deliver to; `device_digest` names the joining browser for
    the listeners of portal.invites.hooks (the rewards' same-device check)."""
    landing = open_link(session, secret_digest, now, organization_id)
    invitation = landing.invitation
    email = normalise_email(email)
    if landing.bind_email and email != invitation.email:
        raise Invalid(
            f"Please join with the address this invitation was sent to ({invitation.email}).",
            field="email",
        )
    if email_taken(session, email):
        raise AccountExists(f"{email} already has an account. Log in instead.", field="email")
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.secret_digest == secret_digest,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > now,
        )
        .values(status=InvitationStatus.ACCEPTED.value, accepted_at=now, updated_at=now)
    ).rowcount
    if claimed != 1:
        raise InviteUsed("This invitation has already been used to join. Log in instead.")
    return complete_acceptance(
        session,
        invitation,
        landing.organization,
        email=email,
        full_name=full_name,
        password=password,
        now=now,
        # The invitation reached its own address, so that one is known to be deliverable.
        reach=None if email == invitation.email else reach,
        device_digest=device_digest,
    )


def complete_acceptance(
    session: Session,
    invitation: Invitation,
    organization: Organization,
    *,
    email: str,
    full_name: str,
    password: str | None,
    now: datetime,
    reach: MailReach | None,
    device_digest: str | None = None,
) -> Member:
    """What every way of joining shares once its invitation is ACCEPTED in this transaction
    (an e-mailed link, a share link: portal.referrals): the member, linked to the inviter
    and the invitation, the inviter's "accepted" e-mail and INVITE_LINKED. One path, so
    counts, e-mails and webhooks can't tell the two apart. `reach`: which addresses the
    mail server can deliver to (None: the address is known to be deliverable);
    `device_digest` names the joining browser for the listeners of portal.invites.hooks."""
    unit = session.get(Unit, invitation.unit_id) if invitation.unit_id else None
    member = create_member(
        session,
        organization,
        email=email,
        full_name=full_name,
        password=password,
        unit=unit,
        now=now,
        reach=reach,
        invited_by_id=invitation.inviter_id,
        invitation_id=invitation.id,
    )
    session.execute(
        update(Invitation).where(Invitation.id == invitation.id).values(member_id=member.id)
    )
    enqueue_email(
        session,
        "invite_accepted",
        f"accepted-{invitation.public_id}",
        now,
        organization_id=invitation.organization_id,
        invitation_id=invitation.id,
        member_id=member.id,
    )
    session.refresh(invitation)
    emit_invite_event(session, "INVITE_LINKED", invitation, now, member=member)
    hooks.invitation_accepted(hooks.Accepted(session, invitation, member, now, device_digest))
    return member


def request_renewal(session: Session, secret_digest: str, now: datetime) -> Member:
    """From an expired link: tell the inviter once that the invitee would like a new one."""
    invitation = session.exec(
        select(Invitation).where(Invitation.secret_digest == secret_digest)
    ).first()
    if invitation is None or effective_status(invitation, now) is not InvitationStatus.EXPIRED:
        raise InvalidInvite("There is no expired invitation behind this link.")
    inviter = session.get(Member, invitation.inviter_id)
    assert inviter is not None
    if invitation.renewal_requested_at is None:
        invitation.renewal_requested_at = now
        session.add(invitation)
        enqueue_email(
            session,
            "renewal_request",
            f"renewal-{invitation.public_id}-{invitation.send_count}",
            now,
            organization_id=invitation.organization_id,
            invitation_id=invitation.id,
        )
    return inviter


def expire_if_due(session: Session, invitation: Invitation, now: datetime) -> bool:
    """Persist EXPIRED for a pending invitation past its expiry (what reads already show) and
    emit INVITE_EXPIRED, once: the conditional UPDATE lets only one caller (this, or the
    sweep) do it. True when the invitation is expired now."""
    if effective_status(invitation, now) is not InvitationStatus.EXPIRED:
        return False
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)
        .values(status=InvitationStatus.EXPIRED.value, updated_at=now)
    ).rowcount
    session.refresh(invitation)
    if changed == 1:
        emit_invite_event(session, "INVITE_EXPIRED", invitation, now)
    return True


def sweep_expired(session: Session, now: datetime, limit: int = 500) -> int:
    """Persist EXPIRED for pending invitations past their expiry and emit INVITE_EXPIRED once
    each. Safe from several workers at once: the conditional UPDATE lets one of them win."""
    due = session.exec(
        select(Invitation.id)
        .where(Invitation.status == InvitationStatus.PENDING, Invitation.expires_at <= now)
        .order_by(Invitation.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return 0
    expired_ids = (
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(due), Invitation.status == InvitationStatus.PENDING)
            .values(status=InvitationStatus.EXPIRED.value, updated_at=now)
            .returning(Invitation.id)
        )
        .scalars()
        .all()
    )
    for invitation in session.exec(select(Invitation).where(Invitation.id.in_(expired_ids))):
        emit_invite_event(session, "INVITE_EXPIRED", invitation, now)
    return len(expired_ids)
