"""Checking credentials, and ending sessions. Rate limiting happens at the view, where the
client is known."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from portal.audit import service as audit
from portal.email_addresses import normalise_email
from portal.errors import DomainError, Invalid, NotFound
from portal.models import Member
from portal.orgs.service import check_password
from portal.passwords import hash_password, needs_rehash, verify_password
from portal.policy import may_set_member_status, require
from portal.roles import MemberStatus


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


SIGNED_IN_STATUSES = (MemberStatus.ACTIVE, MemberStatus.PENDING_APPROVAL)

WRONG_CREDENTIALS = "That e-mail and password don't match an account. Check both and try again."


def login_key(raw: str) -> str:
    """The account a login attempt aims at, for the per-account limit.

    Built on the lookup's own normalisation (IDNA domain, lower case), then NFKC and case
    folding on top: every spelling that reaches an account shares its key, and the extra
    folding can only merge keys, never split one. An address that isn't valid can't reach
    any account; it still gets a stable key so guessing at it is limited too. Hashed, so the
    limiter's storage never holds addresses.
    """
    try:
        address = normalise_email(raw)
    except DomainError:
        address = (raw or "").strip()
    folded = unicodedata.normalize("NFKC", address).casefold()
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


def authenticate(session: Session, email: str, password: str) -> Member:
    try:
        address = normalise_email(email)  # the same form the address was stored in
    except DomainError:
        address = ""  # can't be anyone's: fall through to the uniform refusal
    member = session.exec(select(Member).where(Member.email == address)).first()
    # Always verify, even without a member, so timing doesn't reveal which addresses exist.
    if not verify_password(member.password_hash if member else None, password) or member is None:
        raise LoginRefused(WRONG_CREDENTIALS)
    # An applicant awaiting approval signs in to follow their application; the pages'
    # guard (portal.applications.views.guard_pending) keeps member features from them.
    if member.status not in SIGNED_IN_STATUSES:
        raise LoginRefused("This account is disabled. Contact your organisation's admins.")
    if needs_rehash(member.password_hash):
        # Made with another cost than the configured one: the password is at hand only now.
        member.password_hash = hash_password(password)
        session.add(member)
    return member


# Every signed-in request runs it: built once, it costs a third of what it does per request.
_MEMBER_BY_PUBLIC_ID = select(Member).where(Member.public_id == bindparam("public_id"))


def load_member(session: Session, user_id: str) -> Member | None:
    """The member a session (or remember cookie) names, if that session is still current.

    `user_id` is Member.get_id(): "<public id>:<session generation>". An id from before the
    last logout, password change or deactivation carries an older generation and is refused,
    as is an id without one (issued before generations existed).
    """
    public_id, _, generation = user_id.rpartition(":")
    if not public_id or not generation.isdigit():
        return None
    member = session.exec(_MEMBER_BY_PUBLIC_ID, params={"public_id": public_id}).first()
    if member is None or member.status not in SIGNED_IN_STATUSES:
        return None
    if member.session_generation != int(generation):
        return None
    return member


def end_sessions(session: Session, member: Member) -> None:
    """End every session the member has, on every device (sessions are signed cookies the
    server can't delete, so they are made stale instead)."""
    # In SQL, so two concurrent bumps can't both write the same number.
    session.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(session_generation=Member.session_generation + 1)
    )
    session.refresh(member, ["session_generation"])


def member_by_email(session: Session, email: str) -> Member:
    address = normalise_email(email)
    member = session.exec(select(Member).where(Member.email == address)).first()
    if member is None:
        raise NotFound(f"No member has the address {address}.", field="email")
    return member


def change_password(
    session: Session, member: Member, new_password: str, now: datetime, actor: Member | None = None
) -> Member:
    """Set a member's password and end their sessions: whoever knew the old password (or
    holds a cookie from then) is signed out everywhere. `actor` None: the member themselves,
    or the operator at the command line."""
    check_password(new_password)
    member.password_hash = hash_password(new_password)
    session.add(member)
    session.flush()
    end_sessions(session, member)
    audit.record(
        session,
        actor,
        "member.password_changed",
        audit.member_target(member),
        after={},
        secrets=("password",),
        organization_id=member.organization_id,
        now=now,
    )
    return member


SETTABLE_STATUSES = (MemberStatus.ACTIVE, MemberStatus.DISABLED)


def set_member_status(
    session: Session, actor: Member | None, member: Member, status: MemberStatus, now: datetime
) -> Member:
    """Activate or disable a member. `actor` is the admin doing it, or None for the portal's
    operator at the command line (who already holds the database). Disabling ends the
    member's sessions, so re-activating them later doesn't revive an old cookie."""
    if actor is not None:
        require(may_set_member_status(actor, member))
    if status not in SETTABLE_STATUSES:
        raise Invalid("A member's status can be set to active or disabled.", field="status")
    if member.status == status:
        return member
    before = member.status
    member.status = status.value
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor,
        "member.status_changed",
        audit.member_target(member),
        before={"status": before},
        after={"status": member.status},
        organization_id=member.organization_id,
        now=now,
    )
    if status != MemberStatus.ACTIVE:
        end_sessions(session, member)
    return member
