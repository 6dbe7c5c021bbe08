"""The development mailbox: read the e-mails the portal would have sent (development only)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlmodel import select

from portal.db import get_session
from portal.extensions import login_manager
from portal.models import DevMail

bp = Blueprint("devmail", __name__, url_prefix="/dev/mailbox")


@bp.before_request
def _development_only_and_signed_in() -> ResponseReturnValue | None:
    # create_app registers this blueprint in development only; this is the second lock.
    if current_app.config["PORTAL_ENV"] != "development" or current_app.config.get("MAIL_SERVER"):
        abort(404)
    # Even on a laptop the mailbox holds live invitation links: whoever can reach the dev
    # server (a shared network, a forwarded port) must at least be a member.
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.route("")
def index() -> ResponseReturnValue:
    mails = get_session().exec(select(DevMail).order_by(DevMail.id.desc()).limit(100)).all()
    return render_template("devmail/index.html", mails=mails)


@bp.route("/<int:mail_id>")
def show(mail_id: int) -> ResponseReturnValue:
    mail = get_session().get(DevMail, mail_id)
    if mail is None:
        abort(404)
    return render_template("devmail/show.html", mail=mail)
