"""Database tables. Every row that belongs to an organisation carries organization_id."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Index
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
    # Stored normalised (see portal.emails.normalise); unique across the portal so that
    # one address logs in to exactly one account.
    email: str = Field(max_length=320, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.USER.value, max_length=20)
    status: str = Field(default=MemberStatus.ACTIVE.value, max_length=20)
    invited_by_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    invitation_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)

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
        return self.public_id

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class InvitationSettings(SQLModel, table=True):
    __tablename__ = "invitation_settings"

    organization_id: int = Field(foreign_key="organization.id", primary_key=True)
    enabled: bool = True
    min_inviter_role: str = Field(default=Role.USER.value, max_length=20)
    expiry_days: int = 14
    daily_limit_per_member: int = 50
    bind_invitee_email: bool = True
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)

    @property
    def min_role(self) -> Role:
        return Role(self.min_inviter_role)


__all__ = ["InvitationSettings", "Member", "Organization", "Unit", "public_id"]
