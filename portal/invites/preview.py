"""The live preview: a template rendered with sample data by the real invitation renderer."""

from __future__ import annotations

from datetime import datetime, timedelta

from jinja2 import Environment

from portal.delivery.message import RenderedEmail
from portal.invites.mail import join_url, render_invitation
from portal.models import EmailTemplate, Invitation, Member, Organization

SAMPLE_INVITEE = "Alex Example"
SAMPLE_EMAIL = "alex@example.org"
SAMPLE_MESSAGE = "It would be great to have you with us.\nSee you at the next meeting!"
# Looks like a link, opens nothing: the preview must never carry a working secret.
SAMPLE_INVITE_ID = "sample-link-for-the-preview"


def render_preview(
    env: Environment,
    org: Organization,
    inviter: Member,
    subject: str,
    body: str,
    *,
    base_url: str,
    expiry_days: int,
    now: datetime,
) -> RenderedEmail:
    """Check the template first (portal.email_templates.service.content_problems): a
    refused one renders the built-in e-mail, as the worker would."""
    # Transient rows: built to be rendered, never added to the session.
    invitation = Invitation(
        organization_id=org.id,
        inviter_id=inviter.id,
        email=SAMPLE_EMAIL,
        full_name=SAMPLE_INVITEE,
        message=SAMPLE_MESSAGE,
        secret_digest="",
        created_at=now,
        updated_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=expiry_days),
    )
    template = EmailTemplate(
        organization_id=org.id,
        name="Preview",
        subject=subject,
        body=body,
        created_at=now,
        updated_at=now,
    )
    url = join_url(base_url, SAMPLE_INVITE_ID)
    return render_invitation(env, org, inviter, invitation, url, template)
