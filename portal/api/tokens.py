"""API tokens: create, list, revoke, authenticate.

A token is shown once at creation and stored only as its SHA-256 digest (plus a short prefix
so admins can tell tokens apart). Plain functions over a session: no Flask, no commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from portal.audit import service as audit
from portal.errors import DomainError, Invalid, NotAllowed
from portal.lookups import find_in_org, get_in_org
from portal.models import ApiToken, Member
from portal.policy import may_manage_settings, require
from portal.roles import MemberStatus
from portal.validation import check_text

# What each scope allows, in the words the settings screen and the docs show.
SCOPES = {
    "read-invites": "List and read invitations",
    "create-invites": "Send, resend and revoke invitations",
    "invite-on-behalf": "Send invitations in the name of another member",
    "read-profiles": "Read members",
    "create-profiles": "Create members through an invitation (headless join)",
    "read-audit": "Read the audit log (works for tokens of organisation admins only)",
    "read-referral-links": "Read members' personal share links (their address and counts)",
    "read-reward-definitions": "Read the referral reward rules",
    "read-benefit-definitions": "Read the benefits rewards hand out (not their codes)",
    "read-rewards": "Read members' referral rewards, benefit codes included",
    "read-applications": "Read membership applications in the owner's scope (HR and admins)",
    "decide-applications": "Approve or reject membership applications as the token's owner",
    "read-events": "List upcoming events and (for their organisers) their guests",
    "write-events": "Create events (for tokens of HR and admins)",
}
TOKEN_PREFIX = "mpt_"  # noqa: S105 (not a secret: makes tokens recognisable to scanners)
DISPLAY_PREFIX_LENGTH = 12  # "mpt_" and 8 characters of the secret part
MAX_NAME = 120
# Writing last_used_at on every request would turn each read into a write; once a minute
# is precise enough for "last used" and keeps busy tokens from contending for a row lock.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class TokenRefused(DomainError):
    """A request's token is missing, unknown, expired or revoked (HTTP 401)."""

    status = 401
    code = "invalid_token"
    title = "Not authenticated"
    meaning = "The token is unknown, or its owner is no longer an active member."


class TokenMissing(TokenRefused):
    code = "unauthorized"
    meaning = "No token was sent. Use the header Authorization: Bearer <token>."


class TokenExpired(TokenRefused):
    code = "token_expired"
    meaning = "The token has passed its expiry date."


class TokenRevoked(TokenRefused):
    code = "token_revoked"
    meaning = "An admin revoked the token."


class MissingScope(NotAllowed):
    code = "insufficient_scope"
    title = "Missing scope"
    meaning = (
        "The token lacks the scope the operation needs (named in `detail` and in WWW-Authenticate)."
    )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def expiry_from_date(day: date) -> datetime:
    """A token "expiring on" a day works through that day (UTC) and stops at midnight."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Created:
    token: ApiToken
    secret: str  # shown to the admin once, never stored


def create_token(
    session: Session,
    actor: Member,
    *,
    name: str,
    owner_public_id: str,
    scopes: list[str],
    expires_on: date | None,
    now: datetime,
) -> Created:
    require(may_manage_settings(actor))
    name = (name or "").strip()
    check_text(name, field="name", what="A token name")
    if not name:
        raise Invalid("Give the token a name, such as the system that will use it.", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"A name can be at most {MAX_NAME} characters.", field="name")
    owner = find_in_org(session, Member, actor.organization_id, owner_public_id)
    if owner is None:
        raise Invalid("Choose a member of your organisation as the owner.", field="owner")
    if owner.status != MemberStatus.ACTIVE:
        raise Invalid(f"{owner.full_name}'s membership is not active.", field="owner")
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise Invalid("Choose at least one of the listed scopes.", field="scopes")
    try:
        expires_at = expiry_from_date(expires_on) if expires_on else None
    except OverflowError as exc:  # the last day the calendar has
        raise Invalid("Choose an earlier expiry date.", field="expires_on") from exc
    if expires_at is not None and expires_at <= now:
        raise Invalid("Choose an expiry date from today on.", field="expires_on")
    secret = new_token()
    token = ApiToken(
        organization_id=actor.organization_id,
        owner_id=owner.id,
        name=name,
        token_digest=digest(secret),
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        scopes=[s for s in SCOPES if s in set(scopes)],  # stable order
        expires_at=expires_at,
        created_at=now,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.created",
        _target(token),
        after={
            "owner": f"{owner.full_name} ({owner.public_id})",
            **audit.snapshot(token, ("scopes", "expires_at")),
        },
        secrets=("token",),
        now=now,
    )
    return Created(token, secret)


def _target(token: ApiToken) -> audit.Target:
    return audit.Target("token", token.public_id, token.name)


@dataclass(frozen=True)
class Listed:
    token: ApiToken
    owner_name: str


def list_tokens(session: Session, actor: Member) -> list[Listed]:
    """Every token of the organisation, newest first, with its owner's name (one query)."""
    require(may_manage_settings(actor))
    rows = session.exec(
        select(ApiToken, Member.full_name)
        .join(Member, Member.id == ApiToken.owner_id)
        .where(ApiToken.organization_id == actor.organization_id)
        .order_by(ApiToken.id.desc())
    ).all()
    return [Listed(token, name) for token, name in rows]


def get_token(session: Session, actor: Member, token_public_id: str) -> ApiToken:
    require(may_manage_settings(actor))
    return get_in_org(session, ApiToken, actor.organization_id, token_public_id)


def revoke_token(session: Session, actor: Member, token: ApiToken, now: datetime) -> ApiToken:
    require(may_manage_settings(actor))
    if token.revoked_at is None:  # revoking twice keeps the first date
        token.revoked_at = now
        session.add(token)
        audit.record(
            session,
            actor,
            "token.revoked",
            _target(token),
            before={"revoked_at": None},
            after={"revoked_at": now},
            now=now,
        )
    return token


@dataclass(frozen=True)
class Authenticated:
    token: ApiToken
    owner: Member

    def has(self, scope: str) -> bool:
        return scope in self.token.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            raise MissingScope(
                f"This token lacks the {scope} scope, which this operation needs. "
                "An organisation admin can create a token that has it.",
                scope=scope,
            )


def authenticate(session: Session, presented: str | None, now: datetime) -> Authenticated:
    """The token and its owner for an `Authorization` header value's token, or TokenRefused.

    Also records the use (at most once a minute, see LAST_USED_GRANULARITY); the caller
    commits that on its own so that refused and failed requests still count as a use.
    """
    if not presented:
        raise TokenMissing("Send an API token in the Authorization header: Bearer <token>.")
    row = session.exec(
        select(ApiToken, Member)
        .join(Member, Member.id == ApiToken.owner_id)
        .where(ApiToken.token_digest == digest(presented))
    ).first()
    if row is None:
        raise TokenRefused("This API token isn't valid. Check that you copied all of it.")
    token, owner = row
    if token.revoked_at is not None:
        raise TokenRevoked("This API token was revoked. Ask an organisation admin for a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenExpired("This API token has expired. Ask an organisation admin for a new one.")
    if owner.status != MemberStatus.ACTIVE or owner.organization_id != token.organization_id:
        raise TokenRefused(
            "The member who owns this API token is no longer active, so it can't be used."
        )
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token.id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at <= now - LAST_USED_GRANULARITY,
                ),
            )
            .values(last_used_at=now)
        )
        # The row already says so; keep the object in step without a second UPDATE.
        set_committed_value(token, "last_used_at", now)
    return Authenticated(token, owner)
