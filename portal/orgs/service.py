"""Organisations, units and members: creation and lookup, always scoped to an organisation."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, func, select

from portal.email_addresses import ASCII_ONLY, MailReach, normalise_email
from portal.errors import Conflict, Invalid, NotFound
from portal.models import InvitationSettings, Member, Organization, Unit
from portal.passwords import MIN_LENGTH, hash_password
from portal.roles import MemberStatus, Role
from portal.validation import check_text


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "org"


def create_organization(
    session: Session, name: str, *, slug: str | None = None, now: datetime, **branding: str
) -> Organization:
    check_text(name, field="name", what="An organisation name")  # it reaches e-mail headers
    slug = slug or slugify(name)
    if session.exec(select(Organization).where(Organization.slug == slug)).first():
        raise Conflict(f"An organisation with the slug {slug!r} already exists.", field="slug")
    org = Organization(name=name, slug=slug, created_at=now, **branding)
    session.add(org)
    session.flush()
    session.add(InvitationSettings(organization_id=org.id, updated_at=now))
    return org


def create_unit(session: Session, org: Organization, name: str) -> Unit:
    check_text(name, field="unit", what="A unit name")
    unit = Unit(organization_id=org.id, name=name)
    session.add(unit)
    session.flush()
    return unit


def get_organization(session: Session, slug: str) -> Organization:
    org = session.exec(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound(f"No organisation {slug!r}.")
    return org


def get_unit(session: Session, org: Organization, name: str) -> Unit:
    unit = session.exec(
        select(Unit).where(Unit.organization_id == org.id, Unit.name == name)
    ).first()
    if unit is None:
        raise NotFound(f"No unit {name!r} in {org.name}.")
    return unit


# Every page runs it: built once, it costs a third of what it does built per request.
_ORGANISATION_AND_SETTINGS = (
    select(Organization, InvitationSettings)
    .join(InvitationSettings, InvitationSettings.organization_id == Organization.id)
    .where(Organization.id == bindparam("organization_id"))
)


def organisation_and_settings(
    session: Session, organization_id: int
) -> tuple[Organization, InvitationSettings]:
    """Both in one query (every page needs both)."""
    found = session.exec(
        _ORGANISATION_AND_SETTINGS, params={"organization_id": organization_id}
    ).first()
    if found is None:  # every organisation gets settings at creation; a broken invariant
        raise NotFound("This organisation has no invitation settings.")
    return found[0], found[1]


def settings_for(session: Session, organization_id: int) -> InvitationSettings:
    settings = session.get(InvitationSettings, organization_id)
    if settings is None:  # every organisation gets one at creation; this is a broken invariant
        raise NotFound("This organisation has no invitation settings.")
    return settings


def email_taken(session: Session, email: str) -> Member | None:
    return session.exec(select(Member).where(Member.email == email)).first()


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"Choose a password of at least {MIN_LENGTH} characters.", field=field)
    if len(password) > 1024:
        raise Invalid("That password is too long.", field=field)


def create_member(
    session: Session,
    org: Organization,
    *,
    email: str,
    full_name: str,
    password: str | None,
    role: Role = Role.USER,
    unit: Unit | None = None,
    status: MemberStatus = MemberStatus.ACTIVE,
    now: datetime,
    invited_by_id: int | None = None,
    invitation_id: int | None = None,
    reach: MailReach | None = ASCII_ONLY,
) -> Member:
    """`reach`: which addresses the mail server can deliver to (None: don't check)."""
    email = normalise_email(email, reach=reach)
    full_name = full_name.strip()
    check_text(full_name, field="full_name", what="A name")
    if not full_name:
        raise Invalid("Enter a full name.", field="full_name")
    if len(full_name) > 200:
        raise Invalid("A name can be at most 200 characters.", field="full_name")
    if unit is not None and unit.organization_id != org.id:
        raise Invalid("That unit belongs to another organisation.", field="unit")
    if password is not None:
        check_password(password)
    if email_taken(session, email):
        raise Conflict(f"{email} already has an account. Log in instead.", field="email")
    member = Member(
        organization_id=org.id,
        unit_id=unit.id if unit else None,
        email=email,
        full_name=full_name,
        password_hash=hash_password(password) if password is not None else None,
        role=role.value,
        status=status.value,
        invited_by_id=invited_by_id,
        invitation_id=invitation_id,
        created_at=now,
    )
    session.add(member)
    session.flush()
    return member


def count_organizations(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Organization)).one()


DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105  (printed for the demo on purpose)
DEMO_MEMBERS = (
    # (email, name, role, unit)
    ("admin@demo-club.org", "Ada Admin", Role.ADMIN_TENANT, "North Chapter"),
    ("hr@demo-club.org", "Hugo HR", Role.HR_TENANT, "North Chapter"),
    ("unit.admin@demo-club.org", "Una Unit-Admin", Role.ADMIN_LOCAL, "South Chapter"),
    ("unit.hr@demo-club.org", "Hana Unit-HR", Role.HR_LOCAL, "South Chapter"),
    ("member@demo-club.org", "Max Member", Role.USER, "North Chapter"),
)


def seed_demo(session: Session, now: datetime) -> Organization:
    org = create_organization(
        session,
        "Demo Club",
        slug="demo-club",
        now=now,
        description="A friendly club for trying out Member Portal.",
        brand_color="#2f6f4f",
    )
    units = {name: create_unit(session, org, name) for name in ("North Chapter", "South Chapter")}
    for email, name, role, unit in DEMO_MEMBERS:
        create_member(
            session,
            org,
            email=email,
            full_name=name,
            password=DEMO_PASSWORD,
            role=role,
            unit=units[unit],
            now=now,
        )
    return org
