"""Fraud signals checked before a grant: each holds the grant for review, none refuses it.

Plain functions: no Flask, no commit."""

from __future__ import annotations

from datetime import datetime

from disposable_email_domains import blocklist
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from portal.models import Member, MemberDevice

ALIAS = "alias"
DISPOSABLE = "disposable"
SAME_DEVICE = "same_device"

SIGNAL_LABELS = {
    ALIAS: "The new member's address is an alias of the referrer's",
    DISPOSABLE: "The new member's address is from a disposable-mail domain",
    SAME_DEVICE: "The new member joined from a browser the referrer logs in with",
}

# Gmail ignores dots in the local part, and googlemail.com is the same mailbox.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(address: str) -> str:
    """The mailbox an address reaches: without +suffix, and without dots for Gmail."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def is_alias(one: str, other: str) -> bool:
    return mailbox(one) == mailbox(other)


def is_disposable(address: str) -> bool:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    # A subdomain of a listed domain is as disposable as the domain.
    parts = domain.split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))


def shares_a_device(session: Session, referrer: Member, invitee: Member) -> bool:
    """Did the invitee join (or ever log in) from a browser the referrer logged in with?"""
    theirs = select(MemberDevice.digest).where(MemberDevice.member_id == invitee.id)
    found = session.exec(
        select(MemberDevice.id)
        .where(MemberDevice.member_id == referrer.id, col(MemberDevice.digest).in_(theirs))
        .limit(1)
    ).first()
    return found is not None


def signals(session: Session, referrer: Member, invitee: Member) -> list[str]:
    found = []
    if is_alias(invitee.email, referrer.email):
        found.append(ALIAS)
    if is_disposable(invitee.email):
        found.append(DISPOSABLE)
    if shares_a_device(session, referrer, invitee):
        found.append(SAME_DEVICE)
    return found


def record_device(session: Session, member: Member, digest: str | None, now: datetime) -> None:
    """Remember that `member` used the browser whose device cookie has this digest."""
    if not digest:
        return
    known = session.exec(
        select(MemberDevice).where(
            MemberDevice.member_id == member.id, MemberDevice.digest == digest
        )
    ).first()
    if known is not None:
        known.last_seen_at = now
        session.add(known)
        return
    try:
        with session.begin_nested():  # two logins at once from one browser: one row
            session.add(MemberDevice(member_id=member.id, digest=digest, last_seen_at=now))
    except IntegrityError:
        pass
