"""E-mail address handling: one normalisation used everywhere an address is stored or compared,
and the transport form of an address (what SMTP is given) derived from the stored one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from email_validator import EmailNotValidError, validate_email

from portal.errors import InvalidEmail

NON_ASCII_LOCAL_PART = (
    "our mail server can't deliver to addresses with accents or other non-ASCII letters "
    "before the @."
)


class MailReach(Protocol):
    """What the configured mail server can deliver to (see portal.delivery.smtp.reach)."""

    def takes_non_ascii_local_parts(self) -> bool:
        """Whether an address such as zoë@example.org can be delivered (SMTPUTF8)."""
        ...


@dataclass(frozen=True)
class FixedReach:
    non_ascii_local_parts: bool

    def takes_non_ascii_local_parts(self) -> bool:
        return self.non_ascii_local_parts


# The longest address taken: a 64-character local part, the @ and a 255-character domain.
MAX_LENGTH = 320

# Services refuse what they can't be sure of: a caller that knows better passes its reach.
ASCII_ONLY = FixedReach(non_ascii_local_parts=False)
EVERY_ADDRESS = FixedReach(non_ascii_local_parts=True)


def normalise_email(
    raw: str, field: str = "email", *, reach: MailReach | None = None, purpose: str = "used"
) -> str:
    """Trimmed, syntax-checked (no DNS), lower-cased address, or InvalidEmail with a clear
    message. With `reach` (where the address is stored to be mailed), an address the mail
    server can't deliver to is refused too: "<address> can't be <purpose>: …". Without it
    (a lookup), any well-formed address is returned, so addresses stored earlier still match."""
    candidate = (raw or "").strip()
    if not candidate:
        raise InvalidEmail("Enter an e-mail address.", field=field)
    if len(candidate) > MAX_LENGTH:
        raise InvalidEmail("That e-mail address is too long.", field=field)
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(
            f"{candidate} is not a valid e-mail address: {exc}", field=field
        ) from exc
    # Mailbox names are case-sensitive in theory, never in practice: lower-casing the whole
    # address is what stops duplicate accounts that differ only by case.
    address = result.normalized.lower()
    # A non-ASCII domain is always deliverable (its IDNA form goes on the wire); a non-ASCII
    # local part only through a server that offers SMTPUTF8.
    if reach is not None and result.smtputf8 and not reach.takes_non_ascii_local_parts():
        raise InvalidEmail(f"{address} can't be {purpose}: {NON_ASCII_LOCAL_PART}", field=field)
    return address


@dataclass(frozen=True)
class Transport:
    """A stored address as SMTP takes it: the local part as it is, the domain in IDNA form."""

    local_part: str
    domain: str  # ASCII (IDNA) form

    @property
    def addr_spec(self) -> str:
        return f"{self.local_part}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local_part.isascii()


# Letters, digits and the usual punctuation around one @: nothing in it needs a second look.
_PLAIN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")


class Undeliverable(ValueError):
    """A stored address that can't be put on the wire at all (stored under older rules)."""


def transport_address(stored: str) -> Transport:
    """The wire form of a stored (normalised) address; Undeliverable if it has none."""
    local, at, domain = stored.rpartition("@")
    if _PLAIN.fullmatch(stored):
        return Transport(local, domain)  # the common case, without re-validating
    try:
        result = validate_email(stored, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Undeliverable(str(exc)) from exc
    return Transport(result.local_part, result.ascii_domain)


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a mail
# reader or an SMTP server could take for the end of a header line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """Text for a header (a subject, a display name): control characters become one space,
    so that stored text from before they were refused can't start a header of its own."""
    if text.isprintable():
        return text
    return _CONTROL.sub(" ", text).strip()
