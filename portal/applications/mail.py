"""The decision e-mail to the applicant ("you're in" or "not this time"), rendered by the
outbox worker."""

from __future__ import annotations

from typing import Any

import css_inline
from jinja2 import Environment
from sqlmodel import Session

from portal.delivery.message import RenderedEmail
from portal.email_addresses import one_line
from portal.models import ApplicationStatus, Member, MembershipApplication, Organization, OutboxItem

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


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
    subject = one_line(
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
        "subject": subject,
    }
    text = env.get_template("emails/application_decided.txt").render(**context)
    html = env.get_template("emails/application_decided.html").render(**context)
    return RenderedEmail(to=member.email, subject=subject, text=text, html=_INLINER.inline(html))
