"""Organisation and invitation settings (Settings → Invitations).

Every rule the settings form shows beside its fields is checked here too, with the same
words: this is what stores the values, and a caller without the form must meet the same
rules."""

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


@dataclass(frozen=True)
class Count:
    """A whole number a setting must be, and what to say when it isn't."""

    lowest: int
    highest: int
    out_of_range: str
    missing: str


EXPIRY_DAYS = Count(1, 90, "Choose between 1 and 90 days.", "Enter a number of days.")
VALIDITY_DAYS = Count(
    1, MAX_VALIDITY_DAYS, f"Choose at most {MAX_VALIDITY_DAYS} days.", "Enter a number of days."
)
DAILY_LIMIT = Count(
    1, 1000, "Choose between 1 and 1,000 invitations a day.", "Enter a number of invitations."
)
# What a choice outside the list gets (the words of the form's select).
NOT_A_CHOICE = "Not a valid choice."


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


REMINDER_DAYS_WORDS = "Enter a whole number of days, or leave it empty for no reminders."


def reminder_problem(expiry_days: int | None, reminder_days: int | None) -> str | None:
    """What is wrong with the reminder delay next to the expiry, or None. Empty or 0 is off."""
    if reminder_days is None or reminder_days == 0:
        return None
    if isinstance(reminder_days, bool) or not isinstance(reminder_days, int):
        return REMINDER_DAYS_WORDS
    if reminder_days < 0:
        return REMINDER_DAYS_WORDS
    if expiry_days is not None and reminder_days >= expiry_days:
        return (
            f"Choose fewer days than the invitation expiry ({expiry_days} days), so the "
            "reminder arrives while the invitation still works; or leave it empty for no "
            "reminders."
        )
    return None


@dataclass(frozen=True)
class InvitationSettingsInput:
    """What the settings form sends. The form checks it to show every problem at once; the
    service checks it all again and refuses the first problem."""

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
    reminder_days: int | None = None  # None or 0: no reminders


def update_invitation_settings(
    session: Session, actor: Member, values: InvitationSettingsInput, now: datetime
) -> None:
    require(may_manage_settings(actor))
    role = _checked_role(values.min_inviter_role)
    _check_count(values.expiry_days, EXPIRY_DAYS, "expiry_days")
    _check_count(values.max_validity_days, VALIDITY_DAYS, "max_validity_days")
    if (problem := validity_problem(values.expiry_days, values.max_validity_days)) is not None:
        raise Invalid(problem, field="max_validity_days")
    if (problem := reminder_problem(values.expiry_days, values.reminder_days)) is not None:
        raise Invalid(problem, field="reminder_days")
    _check_count(values.daily_limit_per_member, DAILY_LIMIT, "daily_limit_per_member")
    name, description, brand_color, logo_url = _checked_branding(values)
    org = session.get(Organization, actor.organization_id)
    settings = settings_for(session, actor.organization_id)
    assert org is not None
    before = _audited(org, settings)
    settings.enabled = values.enabled
    settings.min_inviter_role = role.value
    settings.expiry_days = values.expiry_days
    settings.max_validity_days = values.max_validity_days
    settings.daily_limit_per_member = values.daily_limit_per_member
    settings.reminder_days = values.reminder_days or None
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


def _checked_role(value: object) -> Role:
    """The lowest role that may invite: one of the roles (their names, as the form sends)."""
    try:
        return Role(value)
    except ValueError:
        raise Invalid(NOT_A_CHOICE, field="min_inviter_role") from None


def _check_count(value: object, rule: Count, field: str) -> None:
    # bool is an int to Python, never a number of days.
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(rule.missing, field=field)
    if not rule.lowest <= value <= rule.highest:
        raise Invalid(rule.out_of_range, field=field)


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
    check_text(values.brand_color, field="brand_color", what="A brand colour")
    if not values.brand_color:
        raise Invalid("Enter a colour such as #2f6f4f.", field="brand_color")
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
        if parts is None or not parts.scheme or not parts.hostname:
            raise Invalid(
                "Enter a full address such as https://example.org/logo.png.", field="logo_url"
            )
        # As written, not as urlsplit lowers it: the address is stored and shown as given.
        if not logo_url.startswith("https://"):
            raise Invalid("The logo address must start with https://.", field="logo_url")
    return name, description, values.brand_color.lower(), logo_url
