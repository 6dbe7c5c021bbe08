"""E-mail address handling: one normalisation used everywhere an address is stored or compared."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from portal.errors import InvalidEmail


def normalise_email(raw: str, field: str = "email") -> str:
    """Trimmed, syntax-checked (no DNS), lower-cased address, or Invalid with a clear message."""
    candidate = (raw or "").strip()
    if not candidate:
        raise InvalidEmail("Enter an e-mail address.", field=field)
    if len(candidate) > 320:
        raise InvalidEmail("That e-mail address is too long.", field=field)
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(
            f"{candidate} is not a valid e-mail address: {exc}", field=field
        ) from exc
    # Mailbox names are case-sensitive in theory, never in practice: lower-casing the whole
    # address is what stops duplicate accounts that differ only by case.
    return result.normalized.lower()
