"""Factories: build the world a test needs in one line each."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from portal.clock import utcnow
from portal.models import (
    DeliveryStatus,
    Invitation,
    InvitationStatus,
    Member,
    Organization,
    Unit,
)
from portal.orgs import service as orgs
from portal.roles import Role

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_org(session: Session, name: str | None = None, **branding: Any) -> Organization:
    n = next(_counter)
    org = orgs.create_organization(
        session, name or f"Club {n}", slug=f"club-{n}", now=utcnow(), **branding
    )
    session.commit()
    return org


def make_unit(session: Session, org: Organization, name: str | None = None) -> Unit:
    unit = orgs.create_unit(session, org, name or f"Unit {next(_counter)}")
    session.commit()
    return unit


def make_member(
    session: Session,
    org: Organization,
    role: Role = Role.USER,
    unit: Unit | None = None,
    email: str | None = None,
    full_name: str | None = None,
    **extra: Any,
) -> Member:
    n = next(_counter)
    member = orgs.create_member(
        session,
        org,
        email=email or f"member{n}@example.org",
        full_name=full_name or f"Member {n}",
        password=extra.pop("password", PASSWORD),
        role=role,
        unit=unit,
        now=utcnow(),
        **extra,
    )
    session.commit()
    return member


def settings(session: Session, org: Organization, **changes: Any) -> None:
    current = orgs.settings_for(session, org.id)
    for key, value in changes.items():
        setattr(current, key, value)
    session.add(current)
    session.commit()


def make_invitation(
    session: Session,
    inviter: Member,
    *,
    created_at: datetime,
    accepted_at: datetime | None = None,
    opened_at: datetime | None = None,
    delivery_status: str = DeliveryStatus.SENT,
    unit: Unit | None = None,
    source: str = "email",
) -> Invitation:
    """An invitation with the timestamps a test chooses (analytics, leaderboards): written
    directly, since the service always stamps the present."""
    n = next(_counter)
    invitation = Invitation(
        organization_id=inviter.organization_id,
        unit_id=unit.id if unit else inviter.unit_id,
        inviter_id=inviter.id,
        email=f"invitee{n}@example.org",
        secret_digest=f"{n:064x}",
        status=InvitationStatus.ACCEPTED if accepted_at else InvitationStatus.PENDING,
        created_at=created_at,
        updated_at=accepted_at or created_at,
        sent_at=created_at,
        expires_at=created_at + timedelta(days=14),
        first_visited_at=opened_at or (accepted_at and created_at),
        accepted_at=accepted_at,
        delivery_status=delivery_status,
        source=source,
    )
    session.add(invitation)
    session.commit()
    return invitation
