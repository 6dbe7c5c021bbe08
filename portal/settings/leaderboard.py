"""Settings → Leaderboard (ADMIN_TENANT only): whether members see the top recruiters,
and whether it names them by initials only."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from portal.analytics.service import update_leaderboard_settings
from portal.clock import utcnow
from portal.db import get_session
from portal.web.guards import admins_only
from portal.web.organisation import current_org
from portal.web.unit_of_work import submit

bp = Blueprint("leaderboard", __name__, url_prefix="/leaderboard")

bp.before_request(admins_only)


class LeaderboardSettingsForm(FlaskForm):
    enabled = BooleanField("Show members the top recruiters board")
    initials_only = BooleanField("Name people by their initials only")


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    _org, settings = current_org()
    assert settings is not None  # signed in
    form = LeaderboardSettingsForm(
        data={
            "enabled": settings.leaderboard_enabled,
            "initials_only": settings.leaderboard_initials_only,
        }
    )
    if form.validate_on_submit():
        saved = submit(
            form,
            lambda: update_leaderboard_settings(
                session,
                current_user,
                enabled=form.enabled.data,
                initials_only=form.initials_only.data,
                now=utcnow(),
            ),
        )
        if saved.ok:
            flash("Leaderboard settings saved.", "success")
            return redirect(url_for("settings.leaderboard.index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/leaderboard_settings.html", form=form), status
