"""Domain errors. Services raise them; the web and API boundaries translate them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "error"
    title: str = "Something went wrong"
    # What the code means to an API client (the docs page and the OpenAPI document show it);
    # a kind without one is never answered with its own code.
    meaning: str = ""

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"
    meaning = "The acting member may not do this (their role, unit or status)."
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    meaning = "No such invitation or member in the token's organisation, or no such address."
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    meaning = "The invitation's state doesn't allow this (e.g. revoking an accepted one)."
    title = "Conflict"


class Gone(DomainError):
    status = 410
    code = "gone"
    title = "No longer available"


class Invalid(DomainError):
    status = 422
    code = "invalid"
    meaning = "A field or parameter is invalid; `errors` says which and why."
    title = "Please check the form"


class LimitReached(DomainError):
    status = 429
    code = "rate_limited"
    meaning = (
        "The token made too many requests, or too many requests from the client's address "
        "failed to authenticate; wait Retry-After seconds."
    )
    title = "Limit reached"


# Kinds with their own stable codes (the API reports `code`; pages show `message`).
class InvalidEmail(Invalid):
    code = "invalid_email"
    meaning = "The e-mail address isn't valid."


class AlreadyMember(Conflict):
    code = "already_member"
    meaning = (
        "The address already has an account, in this organisation or another (the answer is "
        "the same for both)."
    )


class DuplicatePending(Conflict):
    code = "duplicate_pending"
    meaning = (
        "The address already has a pending invitation (its id is in `inviteId`): resend that one."
    )


class InvitationsDisabled(NotAllowed):
    code = "invitations_disabled"
    meaning = "The organisation has turned invitations off."


class DailyLimit(LimitReached):
    code = "daily_limit"
    meaning = "A daily limit on invitations (per inviter, or per address) is reached."
    title = "Daily limit reached"


class InvalidInvite(NotFound):
    code = "invalid_invite"
    meaning = "The inviteId isn't a valid invitation link of this organisation."
    title = "Invitation not found"


class InviteExpired(Gone):
    code = "invite_expired"
    meaning = "The invitation has expired."
    title = "This invitation has expired"


class InviteRevoked(Gone):
    code = "invite_revoked"
    meaning = "The invitation was revoked."
    title = "This invitation was withdrawn"


class InviteUsed(Gone):
    code = "invite_used"
    meaning = "The invitation has already been used to join."
    title = "This invitation has already been used"


class InviteSuperseded(Gone):
    code = "invite_superseded"
    meaning = "A newer invitation was sent; this link no longer works."
    title = "A newer invitation was sent"


class NoSuchTemplate(Invalid):
    """An e-mail template id that names none of the organisation's templates. Its API code
    stays `invalid` (a field error); the web form adds what to do about it."""


class AccountExists(Conflict):
    code = "account_exists"
    meaning = "The address already has an account."
    title = "You already have an account"


class AlreadyDecided(Conflict):
    """Two HR members decided one application at once: the second is told who was first."""

    code = "already_decided"
    meaning = "The application was already decided (perhaps by someone else just now)."
    title = "Already decided"


class RegistrationClosed(NotAllowed):
    code = "registration_closed"
    meaning = "The organisation takes new members by invitation only."
    title = "Registration is closed"


def problem_kinds() -> dict[str, tuple[int, str]]:
    """Every documented code with its status and meaning, derived from the classes above.

    Kinds declared elsewhere (the API's token and idempotency refusals) count once their
    module is imported. Ordered by status, then by where the class sits in the hierarchy.
    """
    found: dict[str, tuple[int, str]] = {}

    def walk(kind: type[DomainError]) -> None:
        if kind.meaning and kind.code not in found:
            found[kind.code] = (kind.status, kind.meaning)
        for sub in kind.__subclasses__():
            walk(sub)

    walk(DomainError)
    return dict(sorted(found.items(), key=lambda item: item[1][0]))
