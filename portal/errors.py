"""Domain errors. Services raise them; the web and API boundaries translate them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "error"
    title: str = "Something went wrong"

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(DomainError):
    status = 410
    code = "gone"
    title = "No longer available"


class Invalid(DomainError):
    status = 422
    code = "invalid"
    title = "Please check the form"


class LimitReached(DomainError):
    status = 429
    code = "rate_limited"
    title = "Limit reached"


# Kinds with their own stable codes (the API reports `code`; pages show `message`).
class InvalidEmail(Invalid):
    code = "invalid_email"


class AlreadyMember(Conflict):
    code = "already_member"


class DuplicatePending(Conflict):
    code = "duplicate_pending"


class InvitationsDisabled(NotAllowed):
    code = "invitations_disabled"


class DailyLimit(LimitReached):
    code = "daily_limit"
    title = "Daily limit reached"


class InvalidInvite(NotFound):
    code = "invalid_invite"
    title = "Invitation not found"


class InviteExpired(Gone):
    code = "invite_expired"
    title = "This invitation has expired"


class InviteRevoked(Gone):
    code = "invite_revoked"
    title = "This invitation was withdrawn"


class InviteUsed(Gone):
    code = "invite_used"
    title = "This invitation has already been used"


class InviteSuperseded(Gone):
    code = "invite_superseded"
    title = "A newer invitation was sent"


class AccountExists(Conflict):
    code = "account_exists"
    title = "You already have an account"
