"""The invitation dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from portal.main.views import current_org
from portal.policy import may_send_invitations, require

bp = Blueprint("invites", __name__)


@bp.route("/invites")
@login_required
def dashboard() -> ResponseReturnValue:
    _org, settings = current_org()
    require(may_send_invitations(current_user, settings))
    return render_template("invites/dashboard.html")
