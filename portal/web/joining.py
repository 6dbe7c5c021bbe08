"""What both ways of joining share (an invitation's /join, a share link's /r): the page
for someone already signed in, and the welcome once they have joined."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from portal.models import Member
from portal.web.organisation import current_org


def already_member() -> ResponseReturnValue | None:
    """A signed-in member can't join again: a page that says so, or None."""
    if current_user.is_authenticated:
        org, _settings = current_org()
        return render_template("join/already_member.html", org=org)
    return None


def welcome(
    member: Member, organisation: str, inviter: str, session_key: str
) -> ResponseReturnValue:
    """Sign the new member in (the link's digest leaves the session) and greet them at home."""
    session.pop(session_key, None)
    login_user(member)
    flash(
        f"Welcome to {organisation}, {member.full_name}! You joined at {inviter}'s invitation.",
        "success",
    )
    return redirect(url_for("main.home"))
