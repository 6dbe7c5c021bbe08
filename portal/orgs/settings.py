"""Organisation and invitation settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session

from portal.audit import service as audit
from portal.errors import Invalid
from portal.models import InvitationSettings, Member, Organization
from portal.orgs.service import settings_for
from portal.policy import may_manage_settings, require
from portal.roles import Role
from portal.validation import check_text

MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_LOGO_URL = 500
# The colour goes into the pages' CSS: exactly #rrggbb, nothing before or after.
BRAND_COLOR = r"#[0-9a-fA-F]{6}"

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
    """What the settings form sends. The form checks it for the page; the service checks
    the text again, since it is what stores it (and other callers have no form)."""

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
    name, description, brand_color, logo_url = _checked_branding(values)
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
    org.name, org.description = name, description
    org.brand_color, org.logo_url = brand_color, logo_url
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


def _checked_branding(values: InvitationSettingsInput) -> tuple[str, str, str, str]:
    """The organisation's name, description, colour and logo address as they are stored,
    or Invalid on the first field that can't be."""
    name = values.name.strip()
    check_text(name, field="name", what="An organisation name")
    if not name:
        raise Invalid("Enter the organisation's name.", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"At most {MAX_NAME} characters.", field="name")
    description = values.description.replace("\r\n", "\n").strip()
    check_text(description, field="description", what="A description", multiline=True)
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"At most {MAX_DESCRIPTION:,} characters.", field="description")
    # fullmatch, not match with $: "$" also matches before a final line break.
    if not re.fullmatch(BRAND_COLOR, values.brand_color):
        raise Invalid("Use a hex colour such as #2f6f4f.", field="brand_color")
    logo_url = values.logo_url.strip()
    check_text(logo_url, field="logo_url", what="A logo address")
    if len(logo_url) > MAX_LOGO_URL:
        raise Invalid(f"At most {MAX_LOGO_URL} characters.", field="logo_url")
    if logo_url:
        try:
            parts = urlsplit(logo_url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme != "https" or not parts.hostname:
            raise Invalid("The logo address must start with https://.", field="logo_url")
    return name, description, values.brand_color.lower(), logo_url
