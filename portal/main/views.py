"""Home page and the request-wide context every page needs (organisation, branding, nav)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import policy
from portal.web.organisation import current_org

bp = Blueprint("main", __name__)


@bp.app_context_processor
def inject_org() -> dict[str, Any]:
    org, settings = current_org()
    nav = {}
    if org is not None and settings is not None:
        nav = {
            "invite": bool(policy.may_open_invitations(current_user, settings)),
            "analytics": bool(policy.may_view_analytics(current_user)),
            "leaderboard": bool(
                policy.may_view_leaderboard(current_user, settings.leaderboard_enabled)
            ),
            "settings": bool(policy.may_manage_settings(current_user)),
            "review_rewards": bool(policy.may_review_rewards(current_user)),
            "applications": bool(policy.may_review_applications(current_user)),
            # In development without an SMTP server every e-mail lands in /dev/mailbox.
            "dev_mailbox": current_user.is_authenticated and dev_mailbox_on(),
        }
    return {
        "org": org,
        "org_settings": settings,
        "nav": nav,
        "policy": policy,
    }


def dev_mailbox_on() -> bool:
    config = current_app.config
    return config["PORTAL_ENV"] == "development" and not config.get("MAIL_SERVER")


@bp.route("/")
def home() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("main/home.html")
