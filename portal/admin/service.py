"""Organisation and invitation settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from portal.audit import service as audit
from portal.errors import Invalid
from portal.models import InvitationSettings, Member, Organization
from portal.orgs.service import settings_for
from portal.policy import may_manage_settings, require
from portal.roles import Role

MAX_VALIDITY_DAYS = 365


def validity_problem(expiry_days: int | None, max_validity_days: int | None) -> str | None:
    """What is wrong with the longest validity next to the expiry, or None."""
    if expiry_days is None or max_validity_days is None:
        return None
    if not expiry_days <= max_validity_days <= MAX_VALIDITY_DAYS:
        return (
            f"Choose between {expiry_days} days (the invitation expiry) and "
            f"{MAX_VALIDITY_DAYS} days."
        )
    return None


@dataclass(frozen=True)
class InvitationSettingsInput:
    """Already validated by the form; the service only applies it."""

    enabled: bool
    min_inviter_role: Role
    expiry_days: int
    daily_limit_per_member: int
    bind_invitee_email: bool
    name: str
    description: str
    brand_color: str
    logo_url: str
    max_validity_days: int = 60


def update_invitation_settings(
    session: Session, actor: Member, values: InvitationSettingsInput, now: datetime
) -> None:
    require(may_manage_settings(actor))
    if (problem := validity_problem(values.expiry_days, values.max_validity_days)) is not None:
        raise Invalid(problem, field="max_validity_days")
    org = session.get(Organization, actor.organization_id)
    settings = settings_for(session, actor.organization_id)
    assert org is not None
    before = _audited(org, settings)
    settings.enabled = values.enabled
    settings.min_inviter_role = values.min_inviter_role.value
    settings.expiry_days = values.expiry_days
    settings.max_validity_days = values.max_validity_days
    settings.daily_limit_per_member = values.daily_limit_per_member
    settings.bind_invitee_email = values.bind_invitee_email
    settings.updated_at = now
    org.name = values.name.strip()
    org.description = values.description.strip()
    org.brand_color = values.brand_color.lower()
    org.logo_url = values.logo_url.strip()
    session.add_all([settings, org])
    audit.record(
        session,
        actor,
        "settings.invitations.updated",
        audit.Target("organization", org.slug, org.name),
        before=before,
        after=_audited(org, settings),
        now=now,
    )


def _audited(org: Organization, settings: InvitationSettings) -> dict[str, object]:
    """What the audit log compares before and after a save: every setting."""
    return audit.columns(settings, exclude=("organization_id", "updated_at")) | audit.columns(
        org, exclude=("id", "slug", "created_at")
    )
