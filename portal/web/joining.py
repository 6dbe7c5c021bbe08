"""What the ways of joining share (an invitation's /join, a share link's /r, an event
guest's /guest/join) and open registration (/register): the page for someone already signed
in, the registration form with the organisation's questions, and the welcome once they have
joined."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user
from sqlmodel import Session

from portal.applications.forms import AccountForm, registration_form
from portal.applications.questions import needs_approval, questions_of, settings_of
from portal.join.forms import JoinForm
from portal.models import Member, ReasonMode
from portal.roles import MemberStatus
from portal.web.organisation import current_org


def already_member() -> ResponseReturnValue | None:
    """A signed-in member can't join again: a page that says so, or None."""
    if current_user.is_authenticated:
        org, _settings = current_org()
        return render_template("join/already_member.html", org=org)
    return None


def join_form(
    db: Session,
    organization_id: int,
    sponsor: Member | None,
    base: type[AccountForm] = JoinForm,  # type: ignore[assignment]
    **kwargs: Any,
) -> AccountForm:
    """The join form (`base`: JoinForm unless told) with the organisation's extra questions,
    and "Why do you want to join?" when this sponsor's invitee will need approval."""
    settings = settings_of(db, organization_id)
    pending = needs_approval(settings, sponsor.role_enum if sponsor else None)
    return registration_form(
        questions_of(db, organization_id),
        ask_reason=pending and settings.reason_mode != ReasonMode.OFF,
        reason_required=settings.reason_mode == ReasonMode.REQUIRED,
        base=base,
        **kwargs,
    )


def welcome(
    member: Member, organisation: str, inviter: str | None, session_key: str | None
) -> ResponseReturnValue:
    """Sign the new member in (the link's digest leaves the session) and greet them at home;
    an applicant awaiting approval is signed in too, and sees where their application is."""
    if session_key:
        session.pop(session_key, None)
    if member.status == MemberStatus.PENDING_APPROVAL:
        login_user(member, force=True)  # Flask-Login refuses inactive users unless forced
        flash("Thank you! Your application is being reviewed.", "success")
        return redirect(url_for("applications.status"))
    login_user(member)
    invited = f" You joined at {inviter}'s invitation." if inviter else ""
    flash(f"Welcome to {organisation}, {member.full_name}!{invited}", "success")
    return redirect(url_for("main.home"))
