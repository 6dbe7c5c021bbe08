"""Writing the audit log (issue 8).

`record` adds one row to the caller's session, so the row is committed, or rolled back,
with the change it describes: a failed change leaves no trace, and no change goes unrecorded.
Plain functions over a session: no Flask, no commit.

Who is asking, as far as the unit of work knows (the client's address, whether it came
through the web, the API or the command line), travels on the session itself
(`session.info`, see `set_context`), so services never need the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session

from portal.models import AuditEvent, Member

# Every action the log knows, with the words the page shows. Names are dotted,
# "<what>.<what happened>", and never change once written (rows keep them).
ACTIONS: dict[str, str] = {
    "settings.invitations.updated": "Invitation settings changed",
    "settings.leaderboard.updated": "Leaderboard settings changed",
    "settings.share_links.updated": "Share link settings changed",
    "template.created": "E-mail template created",
    "template.updated": "E-mail template edited",
    "template.duplicated": "E-mail template duplicated",
    "template.deleted": "E-mail template deleted",
    "template.default_changed": "Default e-mail template changed",
    "webhook.created": "Webhook endpoint added",
    "webhook.enabled": "Webhook endpoint enabled",
    "webhook.disabled": "Webhook endpoint disabled",
    "webhook.secret_rolled": "Webhook signing secret rolled",
    "token.created": "API token created",
    "token.revoked": "API token revoked",
    "member.created": "Member created",
    "member.role_changed": "Member's role changed",
    "member.status_changed": "Member's status changed",
    "member.password_changed": "Member's password changed",
    "invitation.revoked": "Invitation revoked (not by its inviter)",
    "reward_rule.created": "Referral reward rule created",
    "reward_rule.updated": "Referral reward rule edited",
    "reward_rule.enabled": "Referral reward rule switched on",
    "reward_rule.disabled": "Referral reward rule switched off",
    "benefit.created": "Benefit created",
    "benefit.codes_added": "Codes added to a benefit's pool",
    "reward.approved": "Held referral reward approved",
    "reward.denied": "Held referral reward denied",
    "settings.membership.updated": "Membership settings changed",
    "registration_question.added": "Registration question added",
    "registration_question.edited": "Registration question edited",
    "registration_question.removed": "Registration question removed",
    "application.approved": "Membership application approved",
    "application.rejected": "Membership application rejected",
}

# What a secret shows instead of its value. Fields with these names are never stored with
# their values, whoever passes them: a careless caller can't leak one into the log.
CHANGED = "changed"
SECRET_FIELDS = frozenset(
    {"secret", "sealed_secret", "token", "token_digest", "password", "password_hash"}
)

CHANNELS = ("web", "api", "cli", "system")
_CONTEXT_KEY = "portal.audit.context"


@dataclass(frozen=True)
class Context:
    """Where the session's changes come from. The worker and scripts get the default."""

    ip: str | None = None
    channel: str = "system"
    api_token_id: str | None = None  # with channel "api": the token's public id


def context(session: Session) -> Context:
    return session.info.get(_CONTEXT_KEY) or Context()


def set_context(session: Session, **values: Any) -> None:
    """Say where this session's changes come from (the request's session does it for the
    web and the API; the command line for itself)."""
    session.info[_CONTEXT_KEY] = replace(context(session), **values)


@dataclass(frozen=True)
class Target:
    """What was changed: its kind, its public id and a label a person recognises."""

    type: str
    id: str
    label: str


def _json(value: Any) -> Any:
    """Values as the JSON columns can hold them, readable as they are."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def snapshot(obj: object, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of `obj`, ready to pass as `before` or `after`."""
    return {name: _json(getattr(obj, name)) for name in fields}


def columns(obj: object, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of a table row but `exclude`: a new setting is then logged without
    anyone having to remember to add it here."""
    skip = set(exclude)
    names = [name for name in type(obj).model_fields if name not in skip]  # type: ignore[attr-defined]
    return snapshot(obj, names)


def _changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    missing = object()
    keys = [*before, *(k for k in after if k not in before)]
    changed = [k for k in keys if before.get(k, missing) != after.get(k, missing)]
    return (
        {k: _json(before[k]) for k in changed if k in before},
        {k: _json(after[k]) for k in changed if k in after},
    )


def record(
    session: Session,
    actor: Member | None,
    action: str,
    target: Target,
    *,
    now: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    secrets: Iterable[str] = (),
    organization_id: int | None = None,
) -> AuditEvent | None:
    """Add an audit row for `action` on `target` by `actor` (None: the command line or the
    system) to the session's transaction.

    `before` and `after` may hold every field the caller looked at: only those that differ
    are kept. Given both, and nothing differs (a form saved unchanged), nothing is written
    and None is returned. `secrets` names secrets that changed, kept as "changed" only.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS")
    org_id = organization_id if organization_id is not None else (actor and actor.organization_id)
    if org_id is None:
        raise ValueError("an audit row needs an organisation: pass organization_id")
    old, new = _changed(before or {}, after or {})
    hidden = set(secrets) | (SECRET_FIELDS & (old.keys() | new.keys()))
    for name in hidden:
        old.pop(name, None)
        new[name] = CHANGED
    if before is not None and after is not None and not old and not new:
        return None
    where = context(session)
    event = AuditEvent(
        organization_id=org_id,
        actor_id=actor.id if actor else None,
        actor_name=actor.full_name if actor else "",
        actor_email=actor.email if actor else "",
        channel=where.channel,
        api_token_id=where.api_token_id,
        action=action,
        target_type=target.type,
        target_id=target.id[:80],
        target_label=target.label[:300],
        before=old,
        after=new,
        ip=where.ip,
        created_at=now,
    )
    session.add(event)
    return event


def member_target(member: Member) -> Target:
    return Target("member", member.public_id, f"{member.full_name} <{member.email}>")


def member_created(
    session: Session, actor: Member | None, member: Member, now: datetime
) -> AuditEvent | None:
    """A member made by someone else (the API's headless join, the command line). The
    password, when one was set, is named, never shown."""
    return record(
        session,
        actor,
        "member.created",
        member_target(member),
        after=snapshot(member, ("email", "full_name", "role", "status", "unit_id")),
        secrets=("password",) if member.password_hash is not None else (),
        organization_id=member.organization_id,
        now=now,
    )
