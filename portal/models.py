"""Database tables. Every row that belongs to an organisation carries organization_id."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from portal.clock import utcnow
from portal.roles import MemberStatus, Role
from portal.types import UTCDateTime


def public_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(16)}"


def _created_at() -> datetime:
    return utcnow()


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=60, unique=True)
    description: str = Field(default="", max_length=2000)
    brand_color: str = Field(default="#3b5bdb", max_length=7)
    logo_url: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)


class Unit(SQLModel, table=True):
    __table_args__ = (Index("ix_unit_org_name", "organization_id", "name", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    name: str = Field(max_length=120)


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("mb"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Stored normalised (see portal.email_addresses.normalise); unique across the portal so that
    # one address logs in to exactly one account.
    email: str = Field(max_length=320, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.USER.value, max_length=20)
    status: str = Field(default=MemberStatus.ACTIVE.value, max_length=20)
    invited_by_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    invitation_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)
    # Part of every session's user id (see get_id): bumping it ends every session and
    # remember cookie issued before, which is how logout, a new password and deactivation
    # take effect on copies of a cookie too.
    session_generation: int = Field(default=0)

    # Flask-Login's protocol, kept here because a Member is the logged-in user.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.public_id}:{self.session_generation}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class InvitationSettings(SQLModel, table=True):
    __tablename__ = "invitation_settings"

    organization_id: int = Field(foreign_key="organization.id", primary_key=True)
    enabled: bool = True
    min_inviter_role: str = Field(default=Role.USER.value, max_length=20)
    expiry_days: int = 14
    # Extending never keeps an invitation open longer than this after it was (re)sent.
    max_validity_days: int = 60
    daily_limit_per_member: int = 50
    bind_invitee_email: bool = True
    # Top recruiters: shown to members, and naming people by initials only.
    leaderboard_enabled: bool = False
    leaderboard_initials_only: bool = False
    # Personal share links (portal/referrals): on/off, and the optional limits on each link.
    share_links_enabled: bool = True
    share_link_max_joins: int | None = None  # joins per link; None: no limit
    share_link_lifetime_days: int | None = None  # from the link's (re)generation; None: forever
    # Reminders (issue 12): one e-mail to a pending invitee this many days after their
    # invitation was sent (portal/invites/reminders.py); None: no reminders.
    reminder_days: int | None = None
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)

    @property
    def min_role(self) -> Role:
        return Role(self.min_inviter_role)


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class InvitationSource(StrEnum):
    """How an invitation reached its invitee: an e-mail, a member's share link, or an event
    the member invited them to (a join through a link or an event records an ACCEPTED
    invitation, so counts, rewards and events treat them all alike)."""

    EMAIL = "email"
    LINK = "link"
    EVENT = "event"  # a guest of an event who joined from the event's guest page


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


_PENDING_ONLY = text("status = 'PENDING'")
# Invitations that may still get their reminder: the reminder sweep's index predicate, which
# its query repeats word for word so that both databases use the partial index.
REMINDER_DUE = text("status = 'PENDING' AND reminded_at IS NULL")


class Invitation(SQLModel, table=True):
    """One invitation. Never deleted: revoked and expired ones are the history."""

    __table_args__ = (
        # One list query each: by organisation, by unit, by inviter (keyset on id).
        Index("ix_invitation_org_status_id", "organization_id", "status", "id"),
        Index("ix_invitation_org_id", "organization_id", "id"),  # the API's list, any status
        Index("ix_invitation_unit_status_id", "organization_id", "unit_id", "status", "id"),
        Index("ix_invitation_inviter_status_id", "inviter_id", "status", "id"),
        # The expiry sweep.
        Index("ix_invitation_status_expires", "status", "expires_at"),
        # The dashboard's capped counts of pending and past-due invitations.
        Index("ix_invitation_org_status_expires", "organization_id", "status", "expires_at"),
        # Analytics over a period, and the leaderboard: each carries what its aggregates
        # read, so PostgreSQL answers from the index alone (SQLite ignores INCLUDE).
        Index(
            "ix_invitation_org_created",
            "organization_id",
            "created_at",
            postgresql_include=[
                "unit_id",
                "inviter_id",
                "delivery_status",
                "first_visited_at",
                "accepted_at",
                "source",
            ],
        ),
        Index(
            "ix_invitation_org_accepted",
            "organization_id",
            "accepted_at",
            postgresql_include=["unit_id", "inviter_id"],
        ),
        # A share link's page: who joined through it, newest first.
        Index("ix_invitation_share_link_id", "share_link_id", "id"),
        # The reminder sweep (issue 12): an organisation's not yet reminded pending
        # invitations by when they were sent.
        Index(
            "ix_invitation_reminder_due",
            "organization_id",
            "sent_at",
            sqlite_where=REMINDER_DUE,
            postgresql_where=REMINDER_DUE,
        ),
        # At most one pending invitation per address and organisation, even under races.
        Index(
            "uq_invitation_pending_email",
            "organization_id",
            "email",
            unique=True,
            sqlite_where=_PENDING_ONLY,
            postgresql_where=_PENDING_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("iv"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    inviter_id: int = Field(foreign_key="member.id")
    email: str = Field(max_length=320)
    full_name: str = Field(default="", max_length=200)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    message: str = Field(default="", max_length=1000)
    template_id: int | None = Field(default=None, foreign_key="email_template.id")
    # SHA-256 of the secret in the link; the secret itself is never stored.
    secret_digest: str = Field(max_length=64, unique=True)
    status: str = Field(default=InvitationStatus.PENDING.value, max_length=10)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    first_visited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    renewal_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    delivery_status: str = Field(default=DeliveryStatus.QUEUED.value, max_length=10)
    delivery_error: str = Field(default="", max_length=500)
    send_count: int = 1
    source: str = Field(default=InvitationSource.EMAIL.value, max_length=10)
    share_link_id: int | None = Field(default=None, foreign_key="share_link.id")
    # When the one reminder e-mail was queued (issue 12); None: not reminded.
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InvitationDaily(SQLModel, table=True):
    """The analytics' counts per day an invitation was made, inviter and unit: what
    `portal/analytics/queries.py` sums for whole days, so a year costs 365 rows per inviter
    rather than every invitation. Kept by database triggers on `invitation` (migration
    0012), so every way of writing an invitation keeps it true; a test checks it against the
    invitations themselves. Each column counts what the report counts (analytics.queries)."""

    __tablename__ = "invitation_daily"

    organization_id: int = Field(foreign_key="organization.id", primary_key=True)
    day: date = Field(primary_key=True)  # created_at's UTC date
    unit_id: int = Field(primary_key=True)  # 0: the invitation has no unit (no NULL in a key)
    inviter_id: int = Field(primary_key=True)
    sent: int = 0  # e-mailed invitations
    delivered: int = 0
    opened: int = 0
    joined: int = 0
    link_joins: int = 0
    # Joins per bar of analytics.queries.JOIN_DELAYS: days from invitation to join.
    joined_within_1d: int = 0
    joined_within_3d: int = 0
    joined_within_7d: int = 0
    joined_within_14d: int = 0
    joined_later: int = 0


class RetiredSecret(SQLModel, table=True):
    """Digests of links replaced by a resend, so an old link can say "a newer one was sent"."""

    __tablename__ = "invitation_retired_secret"

    digest: str = Field(primary_key=True, max_length=64)
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    retired_at: datetime = Field(sa_type=UTCDateTime)


class InvitationSend(SQLModel, table=True):
    """Every invitation e-mail sent (first sends and resends): what the daily limits count."""

    __tablename__ = "invitation_send"
    __table_args__ = (
        Index("ix_send_org_email_time", "organization_id", "email", "sent_at"),
        Index("ix_send_sender_time", "sender_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    sender_id: int = Field(foreign_key="member.id")
    email: str = Field(max_length=320)
    sent_at: datetime = Field(sa_type=UTCDateTime)


class RefusedSend(SQLModel, table=True):
    """A send refused because of its address (already a member, already invited): counted
    with InvitationSend against the sender's daily limit, so refusals can't be used to probe
    addresses for free. Written in a transaction of its own, after the refusal rolled back."""

    __tablename__ = "invitation_refused_send"
    __table_args__ = (Index("ix_refused_send_sender_time", "sender_id", "refused_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    sender_id: int = Field(foreign_key="member.id")
    code: str = Field(max_length=40)  # the refusal's code; the address itself is not kept
    refused_at: datetime = Field(sa_type=UTCDateTime)


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first attempt or for a retry
    SENT = "sent"
    FAILED = "failed"  # gave up; last_error says why


class OutboxItem(SQLModel, table=True):
    """Work to do after a commit (an e-mail, a webhook call), written in the same transaction."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "status", "next_attempt_at"),
        Index("ix_outbox_endpoint_id", "endpoint_id", "id"),  # an endpoint's recent deliveries
        Index("ix_outbox_kind_status", "kind", "status", "next_attempt_at"),  # the status page
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    kind: str = Field(max_length=20)  # "email" or "webhook"
    topic: str = Field(max_length=40)  # which e-mail or event
    # Receivers dedupe on this: it becomes the e-mail's Message-ID / the event's id.
    idempotency_key: str = Field(max_length=80, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    status: str = Field(default=OutboxStatus.QUEUED.value, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=1000)
    # Webhook calls: which endpoint, and what it last answered (HTTP status).
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoint.id")
    response_status: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DevMail(SQLModel, table=True):
    """The development mailbox: e-mails 'sent' when no SMTP server is configured."""

    __tablename__ = "dev_mail"

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str
    message_id: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class EmailTemplate(SQLModel, table=True):
    """An organisation's own wording for the invitation e-mail (sandboxed Jinja)."""

    __tablename__ = "email_template"
    __table_args__ = (
        Index("ix_email_template_org_name", "organization_id", "name"),
        # At most one default per organisation, whatever races happen.
        Index(
            "uq_email_template_default",
            "organization_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("tpl"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    name: str = Field(max_length=120)
    subject: str = Field(max_length=300)
    body: str = Field(max_length=20000)
    is_default: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("we"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    # HMAC needs the secret itself: kept sealed (portal.sealing), shown once at creation.
    sealed_secret: str = Field(max_length=500)
    enabled: bool = True
    disabled_reason: str = Field(default="", max_length=500)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("tk"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    owner_id: int = Field(foreign_key="member.id")
    name: str = Field(max_length=120)
    token_digest: str = Field(max_length=64, unique=True)  # SHA-256; the token is shown once
    prefix: str = Field(max_length=16)  # the first characters, so admins can tell tokens apart
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to an API request carrying an Idempotency-Key, replayed for 24 h."""

    __tablename__ = "idempotency_record"
    __table_args__ = (Index("uq_idempotency_token_key", "token_id", "key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="api_token.id")
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    response_status: int
    response_body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class AuditEvent(SQLModel, table=True):
    """One change made by someone (or the command line), written in the change's own
    transaction. Never updated or deleted: it is the organisation's record of who did what."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The list, newest first, and its filters (keyset on id in each).
        Index("ix_audit_event_org_id", "organization_id", "id"),
        Index("ix_audit_event_org_action_id", "organization_id", "action", "id"),
        Index("ix_audit_event_org_actor_id", "organization_id", "actor_id", "id"),
        Index("ix_audit_event_org_created", "organization_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("ae"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    # None for the command line and the worker. Name and address as they were at the time:
    # the row must still say who it was after the member is renamed.
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    actor_name: str = Field(default="", max_length=200)
    actor_email: str = Field(default="", max_length=320)
    # "web", "api", "cli" or "system"; with "api", the token used (its public id).
    channel: str = Field(default="system", max_length=10)
    api_token_id: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=60)  # dotted: "webhook.secret_rolled"
    target_type: str = Field(max_length=30)
    target_id: str = Field(default="", max_length=80)
    target_label: str = Field(default="", max_length=300)
    # The changed fields only; secrets are named with the value "changed", never shown.
    before: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    ip: str | None = Field(default=None, max_length=45)
    created_at: datetime = Field(sa_type=UTCDateTime)


_DEFAULT_ONLY = text("is_default")


class ShareLink(SQLModel, table=True):
    """A member's multi-use referral link (/r/<code>). The code is looked up by its SHA-256
    digest; it is also kept sealed (portal.sealing) so that its owner can see it again."""

    __tablename__ = "share_link"
    __table_args__ = (
        # The dashboard's list of a member's links (keyset on id).
        Index("ix_share_link_owner_id", "organization_id", "owner_id", "id"),
        # One personal (default) link per member, even when two first visits race.
        Index(
            "uq_share_link_default",
            "owner_id",
            unique=True,
            sqlite_where=_DEFAULT_ONLY,
            postgresql_where=_DEFAULT_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("sl"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    owner_id: int = Field(foreign_key="member.id")
    label: str = Field(default="", max_length=60)
    is_default: bool = False  # the member's personal link, made on their first visit
    campaign: bool = False  # made by an admin for a campaign (a poster, a newsletter)
    code_digest: str = Field(max_length=64, unique=True)
    sealed_code: str = Field(max_length=500)
    enabled: bool = True
    # Counters on the row, so the dashboard reads them without a query per link. joins is
    # raised by a conditional update that also enforces the organisation's cap.
    opens: int = 0
    joins: int = 0
    code_issued_at: datetime = Field(sa_type=UTCDateTime)  # the lifetime counts from here
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- referral rewards (portal/rewards) ----------------------------------------------------


class RewardTrigger(StrEnum):
    JOINED = "joined"  # the invitee joins
    ACTIVE_DAYS = "active_days"  # the invitee's first N days pass while still active
    APPROVED = "approved"  # the invitee's membership application is approved (adhesion)


class RewardKind(StrEnum):
    NONE = "none"
    POINTS = "points"
    BENEFIT = "benefit"
    TIER = "tier"


class RewardParty(StrEnum):
    REFERRER = "referrer"
    REFEREE = "referee"


class GrantStatus(StrEnum):
    ISSUED = "issued"  # the member has it (from available_at on, when there is a hold period)
    PENDING = "pending"  # a benefit whose code pool was empty: issued once codes are added
    HELD = "held"  # a fraud signal: waits on Rewards → Review
    CAPPED = "capped"  # the referrer's cap was reached: recorded so it is decided once
    SKIPPED = "skipped"  # the recipient was no longer active: recorded so it is decided once
    DENIED = "denied"  # refused on review
    REVOKED = "revoked"  # clawed back: the new member left within the hold period


class Benefit(SQLModel, table=True):
    """A named benefit (a voucher, a free month…), optionally with a pool of codes."""

    __tablename__ = "benefit"
    __table_args__ = (Index("uq_benefit_org_name", "organization_id", "name", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("bf"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=500)
    uses_codes: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)


class BenefitCode(SQLModel, table=True):
    """One code of a benefit's pool, handed out to at most one grant."""

    __tablename__ = "benefit_code"
    __table_args__ = (
        Index("uq_benefit_code", "benefit_id", "code", unique=True),
        Index("ix_benefit_code_free", "benefit_id", "grant_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    benefit_id: int = Field(foreign_key="benefit.id")
    code: str = Field(max_length=200)
    grant_id: int | None = Field(default=None, foreign_key="reward_grant.id", unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RewardRule(SQLModel, table=True):
    """When (trigger) → who (referrer, referee, both) → what (points, benefit, tier)."""

    __tablename__ = "reward_rule"
    __table_args__ = (Index("ix_reward_rule_org_trigger", "organization_id", "trigger", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("rr"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    name: str = Field(max_length=120)
    trigger: str = Field(default=RewardTrigger.JOINED.value, max_length=20)
    active_days: int | None = None  # with trigger active_days
    referrer_kind: str = Field(default=RewardKind.NONE.value, max_length=10)
    referrer_points: int | None = None
    referrer_benefit_id: int | None = Field(default=None, foreign_key="benefit.id")
    referrer_tier: str = Field(default="", max_length=60)
    referee_kind: str = Field(default=RewardKind.NONE.value, max_length=10)
    referee_points: int | None = None
    referee_benefit_id: int | None = Field(default=None, foreign_key="benefit.id")
    referee_tier: str = Field(default="", max_length=60)
    monthly_cap: int | None = None  # per referrer, calendar month in UTC
    yearly_cap: int | None = None  # per referrer, calendar year in UTC
    hold_days: int = 0
    active_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enabled: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RetiredShareCode(SQLModel, table=True):
    """Digests of codes replaced by Regenerate, so an old link can say it was replaced."""

    __tablename__ = "share_link_retired_code"

    digest: str = Field(primary_key=True, max_length=64)
    share_link_id: int = Field(foreign_key="share_link.id", index=True)
    retired_at: datetime = Field(sa_type=UTCDateTime)


class RewardGrant(SQLModel, table=True):
    """The ledger: one row per (rule, invitation, party), whatever retries or races do."""

    __tablename__ = "reward_grant"
    __table_args__ = (
        Index("uq_reward_grant_once", "rule_id", "invitation_id", "party", unique=True),
        Index("ix_reward_grant_member_id", "member_id", "id"),  # My rewards, newest first
        Index("ix_reward_grant_org_status_id", "organization_id", "status", "id"),  # review
        Index("ix_reward_grant_cap", "rule_id", "referrer_id", "party", "created_at"),
        Index("ix_reward_grant_unsettled", "status", "settled", "available_at"),  # hold sweep
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("rg"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")  # the invitation's unit
    rule_id: int = Field(foreign_key="reward_rule.id")
    invitation_id: int = Field(foreign_key="invitation.id")
    party: str = Field(max_length=10)
    member_id: int = Field(foreign_key="member.id")  # who receives it
    referrer_id: int = Field(foreign_key="member.id")
    invitee_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=10)
    points: int = 0
    benefit_id: int | None = Field(default=None, foreign_key="benefit.id")
    tier: str = Field(default="", max_length=60)
    status: str = Field(max_length=10)
    # Fraud signals that held it for review ("alias", "disposable", "same_device").
    signals: list[str] = Field(default_factory=list, sa_type=JSON)
    # The end of the rule's hold period: until then an issued grant can still be revoked.
    available_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    settled: bool = False  # the hold period passed (or there was none): no clawback
    review_note: str = Field(default="", max_length=1000)
    reviewed_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MemberDevice(SQLModel, table=True):
    """Digests of the device cookie a member logged in with: a join from one of them is the
    referrer's own browser (a fraud signal)."""

    __tablename__ = "member_device"
    __table_args__ = (Index("uq_member_device", "member_id", "digest", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    digest: str = Field(max_length=64)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


# --- adhesion: membership applications and the registration form (portal/applications) ----


class ReasonMode(StrEnum):
    OFF = "off"  # "Why do you want to join?" isn't asked
    OPTIONAL = "optional"
    REQUIRED = "required"


class MembershipSettings(SQLModel, table=True):
    """Settings → Membership: whether new members need approval (and whose sponsorship
    waives it), open registration at /register, and the "why" question's mode."""

    __tablename__ = "membership_settings"

    organization_id: int = Field(foreign_key="organization.id", primary_key=True)
    approval_required: bool = False
    # Invited by a member at or above this role: no approval needed. None: everyone needs it.
    waiver_min_role: str | None = Field(default=None, max_length=20)
    open_registration: bool = False
    reason_mode: str = Field(default=ReasonMode.OPTIONAL.value, max_length=10)
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)


class QuestionKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    CHECKBOX = "checkbox"
    DATE = "date"


class RegistrationQuestion(SQLModel, table=True):
    """One extra question of the registration form, asked on the join pages and /register."""

    __tablename__ = "registration_question"
    __table_args__ = (Index("ix_registration_question_org_pos", "organization_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("rq"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    label: str = Field(max_length=200)
    kind: str = Field(default=QuestionKind.TEXT.value, max_length=10)
    required: bool = False
    options: list[str] = Field(default_factory=list, sa_type=JSON)  # kind choice
    position: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    # Adhesion was off (or waived by the sponsor): the row only keeps the join's answers.
    NOT_REQUIRED = "not_required"


class MembershipApplication(SQLModel, table=True):
    """A join's answers and, with adhesion on, its decision. The answers are a JSON snapshot
    (label, kind, value) so that editing or removing a question keeps past answers readable
    and a page of applications reads one row each."""

    __tablename__ = "membership_application"
    __table_args__ = (
        Index("ix_application_org_status_id", "organization_id", "status", "id"),
        Index("ix_application_unit_status_id", "organization_id", "unit_id", "status", "id"),
        Index("ix_application_sponsor_status", "sponsor_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("ap"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    member_id: int = Field(foreign_key="member.id", unique=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    sponsor_id: int | None = Field(default=None, foreign_key="member.id")  # who invited
    status: str = Field(default=ApplicationStatus.PENDING.value, max_length=12)
    reason: str = Field(default="", max_length=2000)
    answers: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    decision_note: str = Field(default="", max_length=1000)
    decided_by_id: int | None = Field(default=None, foreign_key="member.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- events and their guests (portal/events) ----------------------------------------------


class EventGuestStatus(StrEnum):
    INVITED = "invited"  # the e-mail is out; no answer yet
    ACCEPTED = "accepted"  # holds one of the event's places
    WAITING = "waiting"  # said yes when the event was full: promoted in order
    DECLINED = "declined"


class Event(SQLModel, table=True):
    """An event HR or an admin organises for their unit (unit_id) or the whole organisation
    (unit_id None). Times are UTC; `timezone` is the IANA zone they were entered in and are
    shown in."""

    __tablename__ = "event"
    __table_args__ = (
        # Upcoming events, soonest first (keyset on (ends_at, id)).
        Index("ix_event_org_ends_id", "organization_id", "ends_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("ev"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    organizer_id: int = Field(foreign_key="member.id")
    title: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=60)
    place: str = Field(default="", max_length=300)
    online_url: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=4000)
    capacity: int
    guests_per_member: int
    # Places taken: raised only by a conditional update (accepted < capacity), so concurrent
    # accepts never take more places than there are.
    accepted_count: int = 0
    # The .ics SEQUENCE: raised by every edit, so calendars replace the entry (same UID).
    sequence: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class EventGuest(SQLModel, table=True):
    """One guest a member (the host) invited to one event. No account: the guest's page is
    reached with a secret token, looked up by its SHA-256 digest and kept sealed on the row
    so later e-mails (an update, a place opening up) can carry the link again."""

    __tablename__ = "event_guest"
    __table_args__ = (
        # One invitation per address and event, even when two hosts race.
        Index("uq_event_guest_email", "event_id", "email", unique=True),
        Index("ix_event_guest_event_id", "event_id", "id"),  # the guest list, CSV
        Index("ix_event_guest_host", "event_id", "host_id", "status"),  # the allowance
        Index("ix_event_guest_waiting", "event_id", "status", "waiting_since", "id"),
        Index("ix_event_guest_email", "organization_id", "email"),  # a guest who joins later
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("eg"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    event_id: int = Field(foreign_key="event.id")
    host_id: int = Field(foreign_key="member.id")
    email: str = Field(max_length=320)
    full_name: str = Field(default="", max_length=200)
    message: str = Field(default="", max_length=1000)
    token_digest: str = Field(max_length=64, unique=True)
    sealed_token: str = Field(max_length=500)
    status: str = Field(default=EventGuestStatus.INVITED.value, max_length=10)
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- bulk invitations from a CSV file (portal/bulk, issue 12) -----------------------------


class BulkJobStatus(StrEnum):
    PREVIEW = "preview"  # uploaded and checked, waiting for "Send" (purged after a day)
    SENDING = "sending"  # the worker is taking its valid rows, a chunk at a time
    DONE = "done"


class BulkOutcome(StrEnum):
    VALID = "valid"  # will be sent (still pending while the job is sending)
    INVALID = "invalid"
    DUPLICATE = "duplicate"  # the same address earlier in the file
    MEMBER = "member"  # the address already has an account
    INVITED = "invited"  # the address already has a pending invitation
    SENT = "sent"
    FAILED = "failed"  # refused by send_invitation when its turn came


class BulkJob(SQLModel, table=True):
    """One uploaded CSV file: its rows' counts and where sending them has got to."""

    __tablename__ = "bulk_job"
    __table_args__ = (
        Index("ix_bulk_job_creator_id", "created_by_id", "id"),  # the uploader's recent jobs
        Index("ix_bulk_job_status_created", "status", "created_at"),  # the preview purge
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=lambda: public_id("bj"), max_length=40, unique=True)
    organization_id: int = Field(foreign_key="organization.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    created_by_id: int = Field(foreign_key="member.id")
    filename: str = Field(default="", max_length=200)
    status: str = Field(default=BulkJobStatus.PREVIEW.value, max_length=10)
    total_rows: int = 0
    valid_count: int = 0
    invalid_count: int = 0
    duplicate_count: int = 0
    member_count: int = 0
    invited_count: int = 0
    sent_count: int = 0
    failed_count: int = 0
    # The sender's daily limit for this job's sends, when an admin raised it on purpose.
    raised_limit: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BulkRow(SQLModel, table=True):
    """One data line of an uploaded file, with what became of it."""

    __tablename__ = "bulk_row"
    __table_args__ = (
        Index("uq_bulk_row_job_line", "job_id", "line", unique=True),
        # The worker's next chunk (outcome valid) and the problem rows, in line order.
        Index("ix_bulk_row_job_outcome_line", "job_id", "outcome", "line"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="bulk_job.id")
    line: int  # in the file, counting the header as line 1
    email: str = Field(default="", max_length=320)
    full_name: str = Field(default="", max_length=200)
    message: str = Field(default="", max_length=1000)
    outcome: str = Field(max_length=10)
    reason: str = Field(default="", max_length=500)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
