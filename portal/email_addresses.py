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
            f"{candidate} is not a valid e-mail address: {plain_reason(str(exc))}", field=field
        ) from exc
    # Mailbox names are case-sensitive in theory, never in practice: lower-casing the whole
    # address is what stops duplicate accounts that differ only by case.
    address = result.normalized.lower()
    # A non-ASCII domain is always deliverable (its IDNA form goes on the wire); a non-ASCII
    # local part only through a server that offers SMTPUTF8.
    if reach is not None and result.smtputf8 and not reach.takes_non_ascii_local_parts():
        raise InvalidEmail(f"{address} can't be {purpose}: {NON_ASCII_LOCAL_PART}", field=field)
    return address


# email-validator's messages name characters as "',', '@', SPACE" and speak of "IDNA" and
# "quoted local parts": people are told in plain words instead, the first pattern found in
# its message deciding. Anything not recognised reads as a likely typo.
_PLAIN_REASONS = (
    ("must have an @-sign", "it needs an @ between the name and the domain."),
    ("at-sign", "use a plain @ between the name and the domain."),
    ("something before the @-sign", "there is nothing before the @."),
    ("something after the @-sign", "there is nothing after the @."),
    ("two periods in a row", "it has two dots in a row."),
    ("period and a hyphen", "a dot and a hyphen can't be next to each other."),
    ("cannot end with a period", "it can't end with a dot."),
    ("cannot start with a period", "a part of it can't start with a dot."),
    ("should have a period", "the part after the @ needs a dot, as in example.org."),
    ("period", "a dot is in the wrong place."),
    ("hyphen", "a hyphen is in the wrong place."),
    ("too long", "it is too long."),
    ("top-level domain", "the part after the @ doesn't end like a real domain (.org, .com…)."),
    ("special-use or reserved", "the part after the @ is a reserved name no one can receive at."),
    ("Internationalized characters before", NON_ASCII_LOCAL_PART),
    (
        "anything after the email address",
        "there is something after the address: enter one at a time.",
    ),
    ("display name", "enter the address alone, without a name or angle brackets."),
    ("angle bracket", "enter the address alone, without a name or angle brackets."),
    (
        "invalid character",
        "it has characters an address can't have, such as spaces, commas or a second @.",
    ),
    ("unsafe characters", "it has characters an address can't have."),
)
_TYPO = "check for a typo."


def plain_reason(validator_message: str) -> str:
    """Why an address was refused, in the person's words rather than email-validator's."""
    lowered = validator_message.lower()
    for pattern, reason in _PLAIN_REASONS:
        if pattern.lower() in lowered:
            return reason
    return _TYPO


# Commas, semicolons (what mail programs put between addresses) and any white space.
_SEPARATORS = re.compile(r"[,;\s]+")


def split_addresses(raw: str) -> list[str]:
    """The addresses in what was typed or pasted, in order, each once (case aside): a form
    that takes several addresses answers each of them."""
    seen: set[str] = set()
    found = []
    for part in _SEPARATORS.split(raw or ""):
        if part and part.lower() not in seen:
            seen.add(part.lower())
            found.append(part)
    return found


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
