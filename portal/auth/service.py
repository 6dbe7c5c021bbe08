"""Checking credentials. Rate limiting happens at the view, where the client is known."""

from __future__ import annotations

from sqlmodel import Session, select

from portal.emails import normalise_email
from portal.errors import DomainError
from portal.models import Member
from portal.passwords import verify_password
from portal.roles import MemberStatus


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


WRONG_CREDENTIALS = "That e-mail and password don't match an account. Check both and try again."


def authenticate(session: Session, email: str, password: str) -> Member:
    try:
        address = normalise_email(email)  # the same form the address was stored in
    except DomainError:
        address = ""  # can't be anyone's: fall through to the uniform refusal
    member = session.exec(select(Member).where(Member.email == address)).first()
    # Always verify, even without a member, so timing doesn't reveal which addresses exist.
    if not verify_password(member.password_hash if member else None, password) or member is None:
        raise LoginRefused(WRONG_CREDENTIALS)
    if member.status == MemberStatus.PENDING_APPROVAL:
        raise LoginRefused("Your application is waiting for approval. We'll e-mail you when it is.")
    if member.status != MemberStatus.ACTIVE:
        raise LoginRefused("This account is disabled. Contact your organisation's admins.")
    return member


def load_member(session: Session, public_id: str) -> Member | None:
    member = session.exec(select(Member).where(Member.public_id == public_id)).first()
    return member if member and member.is_active else None
