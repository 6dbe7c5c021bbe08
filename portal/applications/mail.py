"""The decision e-mail to the applicant ("you're in" or "not this time"), rendered by the
outbox worker."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from sqlmodel import Session

from portal.delivery.message import RenderedEmail, render_email
from portal.models import ApplicationStatus, Member, MembershipApplication, Organization, OutboxItem


def render_decision_email(
    session: Session,
    env: Environment,
    item: OutboxItem,
    base_url: str,
    secret: str | None,
    prepared: Any = None,
) -> RenderedEmail:
    application = session.get(MembershipApplication, item.payload["application_id"])
    assert application is not None
    member = session.get(Member, application.member_id)
    org = session.get(Organization, application.organization_id)
    assert member is not None and org is not None
    approved = application.status == ApplicationStatus.APPROVED
    subject = (
        f"Welcome to {org.name}: your application was approved"
        if approved
        else f"Your application to {org.name}"
    )
    context = {
        "org": org,
        "member": member,
        "approved": approved,
        "note": application.decision_note,
        "portal_url": f"{base_url}/",
    }
    return render_email(env, "application_decided", member.email, subject, **context)
