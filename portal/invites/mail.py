"""Rendering the invitation e-mails. One function per e-mail, used by the outbox (through
portal/invites/outbox.py), the dev mailbox, the template preview and tests."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from sqlmodel import Session, col, select

from portal.delivery.message import RenderedEmail, render_email
from portal.email_templates import sandbox
from portal.email_templates.service import defaults_for, template_for
from portal.models import EmailTemplate, Invitation, Member, Organization, OutboxItem
from portal.text import day

log = logging.getLogger(__name__)


def join_url(base_url: str, secret: str) -> str:
    return f"{base_url}/join?invite_id={secret}"


def placeholder_values(
    org: Organization, inviter: Member, invitation: Invitation, url: str
) -> dict[str, str]:
    """What an organisation's template may say (portal.email_templates.sandbox.PLACEHOLDERS)."""
    return {
        "inviter_name": inviter.full_name,
        "invitee_name": invitation.full_name,
        "organization_name": org.name,
        "organization_description": org.description,
        "personal_message": invitation.message,
        "join_url": url,
        "expires_on": day(invitation.expires_at),
    }


def render_invitation(
    env: Environment,
    org: Organization,
    inviter: Member,
    invitation: Invitation,
    url: str,
    template: EmailTemplate | None = None,
) -> RenderedEmail:
    """The invitation e-mail: the organisation's `template` inside the portal's layout (header,
    Join button, expiry note), or the built-in e-mail when there is none or it can't be used."""
    builtin_subject = f"{inviter.full_name} invited you to join {org.name}"
    context: dict[str, Any] = {
        "org": org,
        "inviter": inviter,
        "invitation": invitation,
        "join_url": url,
        "expires_on": day(invitation.expires_at),
    }
    if template is not None:
        try:
            custom = sandbox.render(
                template.subject,
                template.body,
                placeholder_values(org, inviter, invitation, url),
            )
        except sandbox.TemplateRefused as refused:
            # Saved under older rules, perhaps: an invitation still goes out, in our words.
            log.warning(
                "e-mail template %s can't be used (%s); sending the built-in invitation",
                template.public_id,
                refused,
            )
        else:
            return render_email(
                env,
                "invitation_custom",
                invitation.email,
                custom.subject or builtin_subject,
                body_html=custom.html,
                body_text=custom.text,
                **context,
            )
    return render_email(env, "invitation", invitation.email, builtin_subject, **context)


def render_reminder(
    env: Environment, org: Organization, inviter: Member, invitation: Invitation, url: str
) -> RenderedEmail:
    """The reminder (portal/invites/reminders.py): always the portal's own words, since an
    organisation's templates (portal/email_templates) word the invitation, not a reminder."""
    return render_email(
        env,
        "invitation_reminder",
        invitation.email,
        f"Reminder: {inviter.full_name} invited you to join {org.name}",
        org=org,
        inviter=inviter,
        invitation=invitation,
        join_url=url,
        expires_on=day(invitation.expires_at),
    )


def render_accepted(
    env: Environment, org: Organization, inviter: Member, member: Member, base_url: str
) -> RenderedEmail:
    subject = f"{member.full_name} accepted your invitation"
    return render_email(
        env,
        "invite_accepted",
        inviter.email,
        subject,
        org=org,
        inviter=inviter,
        member=member,
        dashboard_url=f"{base_url}/invites",
    )


def render_renewal_request(
    env: Environment, org: Organization, inviter: Member, invitation: Invitation, base_url: str
) -> RenderedEmail:
    subject = f"{invitation.email} would like a new invitation to {org.name}"
    return render_email(
        env,
        "renewal_request",
        inviter.email,
        subject,
        org=org,
        inviter=inviter,
        invitation=invitation,
        dashboard_url=f"{base_url}/invites",
    )


@dataclass(frozen=True)
class Batch:
    """The rows a claimed batch of these e-mails is rendered from, loaded with one query per
    table. Holding them keeps them in the session's identity map: `session.get` for any of
    them (here, in the kind's check and in its hooks) then needs no query."""

    rows: list[Any]
    defaults: dict[int, EmailTemplate | None]  # organisation id → its default template


def load_batch(session: Session, items: Sequence[OutboxItem]) -> Batch:
    """What render_outbox_email needs for `items` (the outbox's `prepare` hook)."""
    invitations = _by_id(session, Invitation, {item.payload["invitation_id"] for item in items})
    member_ids = {i.inviter_id for i in invitations} | {
        item.payload["member_id"] for item in items if "member_id" in item.payload
    }
    org_ids = {i.organization_id for i in invitations}
    template_ids = {i.template_id for i in invitations if i.template_id is not None}
    rows = [
        *invitations,
        *_by_id(session, Member, member_ids),
        *_by_id(session, Organization, org_ids),
        *_by_id(session, EmailTemplate, template_ids),
    ]
    return Batch(rows=rows, defaults=defaults_for(session, org_ids))


def _by_id(session: Session, model: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.exec(select(model).where(col(model.id).in_(ids))).all())


def render_outbox_email(
    session: Session,
    env: Environment,
    item: OutboxItem,
    base_url: str,
    secret: str | None,
    batch: Batch | None = None,
) -> RenderedEmail:
    """The e-mail an outbox item stands for, rendered from the rows it names (found in
    `batch` when the worker loaded them for its whole batch)."""
    invitation = session.get(Invitation, item.payload["invitation_id"])
    assert invitation is not None
    org = session.get(Organization, invitation.organization_id)
    inviter = session.get(Member, invitation.inviter_id)
    assert org is not None and inviter is not None
    if item.topic == "invitation":
        assert secret is not None
        template = template_for(session, invitation, batch.defaults if batch else None)
        return render_invitation(
            env, org, inviter, invitation, join_url(base_url, secret), template
        )
    if item.topic == "invitation_reminder":
        assert secret is not None
        return render_reminder(env, org, inviter, invitation, join_url(base_url, secret))
    if item.topic == "invite_accepted":
        member = session.get(Member, item.payload["member_id"])
        assert member is not None
        return render_accepted(env, org, inviter, member, base_url)
    if item.topic == "renewal_request":
        return render_renewal_request(env, org, inviter, invitation, base_url)
    raise ValueError(f"unknown e-mail topic {item.topic!r}")
