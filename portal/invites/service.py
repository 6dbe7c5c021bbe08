"""The invitation lifecycle (DESIGN §3): send, resend, extend, revoke, open a link, accept.

Plain functions over a session: no Flask, no commit. Every refusal is a DomainError with a
message a member can act on; the caller commits once when nothing was raised.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, select

from portal import sealing
from portal.audit import service as audit
from portal.delivery.outbox import email_values, enqueue_email, enqueue_emails
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
from portal.models import public_id as new_public_id
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


def _address_refusal(email: str, sent: int, first_sent: datetime | None) -> DailyLimit | None:
    """The per-address limit, given the address's sends in the last 24 hours."""
    if sent < PER_ADDRESS_DAILY:
        return None
    assert first_sent is not None
    return DailyLimit(
        f"{email} has already been sent {PER_ADDRESS_DAILY} invitations in the last 24 hours "
        f"(the most any address gets in a day). You can invite them again after "
        f"{when(first_sent + DAY)}.",
        field="email",
    )


def _address_sends(
    session: Session, org_id: int, emails: Sequence[str], now: datetime
) -> dict[str, tuple[int, datetime | None]]:
    """(sends in the last 24 hours, the first of them) by address, for addresses sent any."""
    found = session.exec(
        select(InvitationSend.email, func.count(), func.min(InvitationSend.sent_at))
        .where(
            InvitationSend.organization_id == org_id,
            InvitationSend.email.in_(emails),
            InvitationSend.sent_at > now - DAY,
        )
        .group_by(InvitationSend.email)
    ).all()
    return {email: (count, first) for email, count, first in found}


def _check_address_limit(session: Session, org_id: int, email: str, now: datetime) -> None:
    if refusal := _address_refusal(
        email, *_address_sends(session, org_id, [email], now).get(email, (0, None))
    ):
        raise refusal


@dataclass
class _SenderTally:
    """What a sender's daily limit holds: sends and counted refusals in the last 24 hours."""

    sent: int
    first_sent: datetime | None
    refused: int
    first_refused: datetime | None

    def refusal(self, limit: int) -> DailyLimit | None:
        if self.sent + self.refused < limit:
            return None
        oldest = min(m for m in (self.first_sent, self.first_refused) if m is not None)
        tried = f" and tried {self.refused} more that were refused" if self.refused else ""
        return DailyLimit(
            f"You have sent {self.sent} invitations{tried} in the last 24 hours, your daily "
            f"limit. It resets at {when(oldest + DAY)}."
        )

    def add_send(self, now: datetime) -> None:
        self.sent += 1
        self.first_sent = min(self.first_sent or now, now)

    def add_refusal(self, now: datetime) -> None:
        self.refused += 1
        self.first_refused = min(self.first_refused or now, now)


def _sender_tally(session: Session, sender: Member, now: datetime) -> _SenderTally:
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
    return _SenderTally(sent, first_sent, refused, first_refused)


def _check_sender_limit(session: Session, sender: Member, limit: int, now: datetime) -> None:
    """Sends and refused sends both count, so that refusals can't probe addresses for free."""
    if refusal := _sender_tally(session, sender, now).refusal(limit):
        raise refusal


def sends_in_last_day(session: Session, sender: Member, now: datetime) -> int:
    """What `sender`'s daily limit already holds: sends and counted refusals."""
    tally = _sender_tally(session, sender, now)
    return tally.sent + tally.refused


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
    _record_refused_sends(session, sender, [error], now)


def _record_refused_sends(
    session: Session, sender: Member, errors: Sequence[DomainError], now: datetime
) -> None:
    session.execute(
        delete(RefusedSend).where(
            RefusedSend.sender_id == sender.id, RefusedSend.refused_at <= now - DAY
        )
    )
    session.add_all(
        RefusedSend(
            organization_id=sender.organization_id,
            sender_id=sender.id,
            code=error.code,
            refused_at=now,
        )
        for error in errors
    )


def _record_send(
    session: Session, invitation: Invitation, sender: Member, secret: str, now: datetime
) -> None:
    send, email = _send_values(invitation, sender, secret, now)
    session.add(InvitationSend(**send))
    enqueue_email(session, *email[:2], now, **email[2])


def _send_values(
    invitation: Invitation, sender: Member, secret: str, now: datetime
) -> tuple[dict[str, Any], tuple[str, str, dict[str, Any]]]:
    """What one send writes: its InvitationSend row, and its e-mail's (topic, key, payload)
    with the link's secret sealed for the worker."""
    send = {
        "organization_id": invitation.organization_id,
        "invitation_id": invitation.id,
        "sender_id": sender.id,
        "email": invitation.email,
        "sent_at": now,
    }
    payload = {
        "organization_id": invitation.organization_id,
        "invitation_id": invitation.id,
        "send_number": invitation.send_count,
        "sealed_secret": sealing.seal(secret),
    }
    return send, (
        "invitation",
        f"invitation-{invitation.public_id}-{invitation.send_count}",
        payload,
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
    _check_sender_limit(session, actor, _sender_limit(settings, daily_limit), now)
    fields = _clean_fields(email, full_name, first_name, last_name, message, reach)
    email = fields.email
    _refuse_self(actor, email)
    if email_taken(session, email):
        raise already_member(email)
    if pending := find_pending(session, actor.organization_id, email):
        if (
            double_submit
            and effective_status(pending, now) is InvitationStatus.PENDING
            and pending.inviter_id == actor.id
            and now - pending.sent_at < DOUBLE_SUBMIT_WINDOW
            and (*fields.as_sent(), template_id) == _as_sent(pending)
        ):
            return Sent(pending, created=False)
        _refuse_pending(session, actor, pending, now)
    _check_address_limit(session, actor.organization_id, email, now)
    values, secret = _new_invitation(actor, fields, template_id, settings, unit_id, now)
    invitation = Invitation(**values)
    session.add(invitation)
    session.flush()  # the partial unique index refuses a racing duplicate here
    _record_send(session, invitation, actor, secret, now)
    return Sent(invitation, created=True, secret=secret)


@dataclass(frozen=True)
class Wanted:
    """One invitation asked of send_invitations: the fields a CSV row carries."""

    email: str
    full_name: str = ""
    message: str = ""


def send_invitations(
    session: Session,
    actor: Member,
    wanted: Sequence[Wanted],
    now: datetime,
    *,
    daily_limit: int | None = None,
    reach: MailReach = ASCII_ONLY,
) -> list[Sent | DomainError]:
    """send_invitation for many addresses at once (a bulk job's chunk), each answered in
    order by its Sent or by the refusal send_invitation would have raised for it, in the
    same words, as if they had been sent one after another (without double-submit
    detection, as the API's). The same rule functions decide; what send_invitation looks
    up per address is looked up once for all of them, and the invitations, their sends
    and e-mails are inserted together, so the statements don't grow with the rows.

    Unlike send_invitation, counted refusals are recorded here (each one counts against
    the rows after it). A racing send to one of the addresses makes the invitations' flush
    raise IntegrityError (the partial unique index): roll back to a savepoint taken
    before the call and send those rows one by one instead."""
    try:
        settings = settings_for(session, actor.organization_id)
        require(may_send_invitations(actor, settings))
    except DomainError as refusal:
        return [refusal for _ in wanted]
    limit = _sender_limit(settings, daily_limit)
    tally = _sender_tally(session, actor, now)
    cleaned: list[_Fields | DomainError] = []
    for one in wanted:
        try:
            cleaned.append(_clean_fields(one.email, one.full_name, "", "", one.message, reach))
        except DomainError as refusal:
            cleaned.append(refusal)
    emails = sorted({fields.email for fields in cleaned if isinstance(fields, _Fields)})
    members = _members(session, emails)
    pending: dict[str, Invitation | str] = dict(
        _pending_by_email(session, actor.organization_id, emails)
    )
    address_sends = _address_sends(session, actor.organization_id, emails, now) if emails else {}
    answers: list[Sent | DomainError | str] = []  # a new invitation's digest until inserted
    created: dict[str, tuple[dict[str, Any], str]] = {}  # by digest: values, secret
    refusals: list[DomainError] = []
    for fields in cleaned:
        try:
            # In send_invitation's order, so each row gets the refusal it would get alone.
            if refusal := tally.refusal(limit):
                raise refusal
            if isinstance(fields, DomainError):
                raise fields
            _refuse_self(actor, fields.email)
            if fields.email in members:
                raise already_member(fields.email)
            if earlier := pending.get(fields.email):
                if isinstance(earlier, str):  # an earlier row of this call; not inserted yet
                    raise already_invited(actor, Invitation(**created[earlier][0]))
                _refuse_pending(session, actor, earlier, now)
            sent, first_sent = address_sends.get(fields.email, (0, None))
            if refusal := _address_refusal(fields.email, sent, first_sent):
                raise refusal
        except DomainError as refusal:
            answers.append(refusal)
            if counts_against_limit(refusal):
                tally.add_refusal(now)
                refusals.append(refusal)
            continue
        values, secret = _new_invitation(actor, fields, None, settings, None, now)
        created[values["secret_digest"]] = (values, secret)
        answers.append(values["secret_digest"])
        tally.add_send(now)
        pending[fields.email] = values["secret_digest"]
        address_sends[fields.email] = (sent + 1, first_sent or now)
    if refusals:
        _record_refused_sends(session, actor, refusals, now)
    if not created:
        return [answer for answer in answers if not isinstance(answer, str)]
    return _insert_invitations(session, actor, created, answers, now)


def _insert_invitations(
    session: Session,
    actor: Member,
    created: dict[str, tuple[dict[str, Any], str]],
    answers: list[Sent | DomainError | str],
    now: datetime,
) -> list[Sent | DomainError]:
    """Each one an executemany, without an ORM object constructed per row (most of a
    chunk's time otherwise): the invitations (the partial unique index refuses a racing
    duplicate here), read back for their ids, then their sends and e-mails."""
    session.execute(insert(Invitation), [values for values, _ in created.values()])
    inserted = {
        invitation.secret_digest: invitation
        for invitation in session.exec(
            select(Invitation).where(Invitation.secret_digest.in_(list(created)))
        )
    }
    sends: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    for digest_, (_, secret) in created.items():
        send, (topic, key, payload) = _send_values(inserted[digest_], actor, secret, now)
        sends.append(send)
        emails.append(email_values(topic, key, now, **payload))
    session.execute(insert(InvitationSend), sends)
    enqueue_emails(session, emails)
    return [
        Sent(inserted[answer], created=True, secret=created[answer][1])
        if isinstance(answer, str)
        else answer
        for answer in answers
    ]


def _sender_limit(settings: InvitationSettings, daily_limit: int | None) -> int:
    return max(settings.daily_limit_per_member, daily_limit or 0)


@dataclass(frozen=True)
class _Fields:
    email: str
    full_name: str
    first_name: str
    last_name: str
    message: str

    def as_sent(self) -> tuple[str, str, str, str]:
        return (self.full_name, self.first_name, self.last_name, self.message)


def _clean_fields(
    email: str, full_name: str, first_name: str, last_name: str, message: str, reach: MailReach
) -> _Fields:
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
    return _Fields(email, full_name, first_name, last_name, message)


def _refuse_self(actor: Member, email: str) -> None:
    if email == actor.email:
        raise Invalid("You can't invite yourself.", field="email")


def _refuse_pending(session: Session, actor: Member, pending: Invitation, now: datetime) -> None:
    """A pending invitation to the address refuses another, unless it is past due: then it
    is expired now (INVITE_EXPIRED) and the address is free again."""
    if not expire_if_due(session, pending, now):
        raise already_invited(actor, pending)


def _members(session: Session, emails: Sequence[str]) -> set[str]:
    if not emails:
        return set()
    return set(session.exec(select(Member.email).where(Member.email.in_(emails))).all())


def _pending_by_email(
    session: Session, org_id: int, emails: Sequence[str]
) -> dict[str, Invitation]:
    if not emails:
        return {}
    return {
        invitation.email: invitation
        for invitation in session.exec(
            select(Invitation).where(
                Invitation.organization_id == org_id,
                Invitation.status == InvitationStatus.PENDING,
                Invitation.email.in_(emails),
            )
        )
    }


def _new_invitation(
    actor: Member,
    fields: _Fields,
    template_id: int | None,
    settings: InvitationSettings,
    unit_id: int | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """A new pending invitation's values (all of them, so a bulk INSERT needs no ORM
    object) and its link's secret."""
    secret, secret_digest = new_secret()
    values = {
        "public_id": new_public_id("iv"),
        "organization_id": actor.organization_id,
        "unit_id": actor.unit_id if unit_id is None else unit_id,
        "inviter_id": actor.id,
        "email": fields.email,
        "full_name": fields.full_name,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "message": fields.message,
        "template_id": template_id,
        "secret_digest": secret_digest,
        "status": InvitationStatus.PENDING.value,
        "created_at": now,
        "updated_at": now,
        "sent_at": now,
        "expires_at": now + timedelta(days=settings.expiry_days),
    }
    return values, secret


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
