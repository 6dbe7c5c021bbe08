"""The leaderboard's settings, and how it names people."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from portal.audit import service as audit
from portal.models import Member, Organization
from portal.orgs.service import settings_for
from portal.policy import may_manage_settings, require

FIELDS = ("leaderboard_enabled", "leaderboard_initials_only")


def update_leaderboard_settings(
    session: Session, actor: Member, *, enabled: bool, initials_only: bool, now: datetime
) -> None:
    require(may_manage_settings(actor))
    settings = settings_for(session, actor.organization_id)
    before = audit.snapshot(settings, FIELDS)
    settings.leaderboard_enabled, settings.leaderboard_initials_only = enabled, initials_only
    settings.updated_at = now
    session.add(settings)
    org = session.get(Organization, actor.organization_id)
    assert org is not None  # a signed-in member's organisation exists
    audit.record(
        session,
        actor,
        "settings.leaderboard.updated",
        audit.Target("organization", org.slug, org.name),
        before=before,
        after=audit.snapshot(settings, FIELDS),
        now=now,
    )


def initials(full_name: str) -> str:
    """ "Ada Lovelace" -> "A. L.": how the board names people when the organisation asks."""
    return " ".join(f"{word[0].upper()}." for word in full_name.split()[:3]) or "—"
