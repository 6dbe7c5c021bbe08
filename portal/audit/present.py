"""An audit row in words, for the settings page: what changed, from what, to what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.audit.service import ACTIONS, CHANGED, SECRET_FIELDS
from portal.models import AuditEvent
from portal.roles import role_label

# The fields' names as the forms label them, so the log reads like the screens.
FIELD_LABELS = {
    "enabled": "Enabled",
    "min_inviter_role": "Who can send invitations",
    "expiry_days": "Invitation expiry (days)",
    "daily_limit_per_member": "Daily invitations per member",
    "bind_invitee_email": "Invitees must register with the invited address",
    "name": "Name",
    "description": "Description",
    "brand_color": "Brand colour",
    "logo_url": "Logo URL",
    "subject": "Subject",
    "body": "Message",
    "copied_from": "Copied from",
    "is_default": "Default",
    "default": "Default template",
    "url": "URL",
    "event_types": "Event types",
    "disabled_reason": "Why disabled",
    "secret": "Signing secret",
    "token": "Token",
    "password": "Password",
    "owner": "Owner",
    "scopes": "Scopes",
    "expires_at": "Expires",
    "revoked_at": "Revoked",
    "email": "Email",
    "full_name": "Full name",
    "role": "Role",
    "status": "Status",
    "approval_required": "New members must be approved",
    "waiver_min_role": "No approval needed for people invited by",
    "open_registration": "Open registration",
    "reason_mode": "Ask “Why do you want to join?”",
    "label": "Question",
    "kind": "Kind of answer",
    "required": "Required",
    "options": "Options",
    "note": "Note",
    "unit_id": "Unit",
}
CHANNEL_LABELS = {"web": "web", "api": "API", "cli": "command line", "system": "the portal"}
LONGEST = 160  # characters of a value shown in the table; the API has them whole


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the field was not there before (created)
    after: str | None  # None: not there after (deleted)


# Fields whose values are role codes: the log names the role as the screens do.
ROLE_FIELDS = frozenset({"role", "min_inviter_role", "waiver_min_role"})


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def value_text(name: str, value: Any) -> str:
    if name in SECRET_FIELDS and value == CHANGED:
        return "changed (not shown)"
    if value is None or value == "":
        return "—"
    if name in ROLE_FIELDS:
        return role_label(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    text = str(value)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def changes(event: AuditEvent) -> list[Change]:
    names = [*event.before, *(k for k in event.after if k not in event.before)]
    return [
        Change(
            field_label(name),
            value_text(name, event.before[name]) if name in event.before else None,
            value_text(name, event.after[name]) if name in event.after else None,
        )
        for name in names
    ]


def actor_text(event: AuditEvent) -> str:
    if event.actor_id is None:
        return "Command line" if event.channel == "cli" else "The portal (automatic)"
    return f"{event.actor_name} <{event.actor_email}>"


def channel_text(event: AuditEvent) -> str:
    label = CHANNEL_LABELS.get(event.channel, event.channel)
    if event.channel == "api" and event.api_token_id:
        return f"{label}, token {event.api_token_id}"
    return label
