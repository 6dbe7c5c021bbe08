"""Settings → Share links (ADMIN_TENANT only): personal links on or off, and the optional
limits on each link (joins, lifetime). The rules are portal.referrals.service's; the form
checks them too, to show every problem at once beside its field."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional

from portal.clock import utcnow
from portal.db import get_session
from portal.orgs.service import settings_for
from portal.referrals.service import (
    MAX_JOINS_CAP,
    MAX_LIFETIME_DAYS,
    ShareLinkSettingsInput,
    update_settings,
)
from portal.web.guards import admins_only
from portal.web.unit_of_work import submit

bp = Blueprint("share_links", __name__, url_prefix="/share-links")

bp.before_request(admins_only)


class ShareLinkSettingsForm(FlaskForm):
    enabled = BooleanField("Enable personal share links")
    max_joins = IntegerField(
        "Maximum joins per link",
        validators=[
            Optional(),
            NumberRange(
                1,
                MAX_JOINS_CAP,
                f"Choose between 1 and {MAX_JOINS_CAP:,} joins, or leave it empty for no limit.",
            ),
        ],
    )
    lifetime_days = IntegerField(
        "Link lifetime (days)",
        validators=[
            Optional(),
            NumberRange(
                1,
                MAX_LIFETIME_DAYS,
                f"Choose between 1 and {MAX_LIFETIME_DAYS:,} days, or leave it empty for no limit.",
            ),
        ],
    )


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    settings = settings_for(session, current_user.organization_id)
    form = ShareLinkSettingsForm(
        data={
            "enabled": settings.share_links_enabled,
            "max_joins": settings.share_link_max_joins,
            "lifetime_days": settings.share_link_lifetime_days,
        }
    )
    if form.validate_on_submit():
        values = ShareLinkSettingsInput(
            enabled=form.enabled.data,
            max_joins=form.max_joins.data,
            lifetime_days=form.lifetime_days.data,
        )
        saved = submit(form, lambda: update_settings(session, current_user, values, utcnow()))
        if saved.ok:
            flash("Share link settings saved.", "success")
            return redirect(url_for("settings.share_links.index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/share_link_settings.html", form=form), status
