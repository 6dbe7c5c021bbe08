"""My rewards (every member) and Rewards → Review (HR and admins, in their scope)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, user_logged_in
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from portal.clock import utcnow
from portal.db import get_session
from portal.errors import Invalid
from portal.models import Member
from portal.policy import may_review_rewards, require
from portal.rewards import fraud, queries
from portal.rewards import service as rewards
from portal.rewards.mail import describe
from portal.validation import PlainText
from portal.web.devices import device_digest
from portal.web.unit_of_work import submit

bp = Blueprint("rewards", __name__, url_prefix="/rewards")


def _before() -> int | None:
    value = request.args.get("before", "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise Invalid("That page of the list doesn't exist.", field="before")
    return int(value)


@bp.route("")
@login_required
def mine() -> ResponseReturnValue:
    session = get_session()
    now = utcnow()
    page = queries.history(session, current_user, _before())
    return render_template(
        "rewards/mine.html",
        summary=queries.summary(session, current_user, now),
        page=page,
        now=now,
        describe=describe,
    )


class DecisionForm(FlaskForm):
    note = TextAreaField("Note", validators=[PlainText("The note", multiline=True)])


@bp.route("/review")
@login_required
def review() -> ResponseReturnValue:
    require(may_review_rewards(current_user))
    rows, next_before = queries.held_for_review(get_session(), current_user, _before())
    return render_template(
        "rewards/review.html",
        rows=rows,
        next_before=next_before,
        describe=describe,
        signal_labels=fraud.SIGNAL_LABELS,
    )


@bp.route("/review/<public_id>", methods=["GET", "POST"])
@login_required
def decide(public_id: str) -> ResponseReturnValue:
    session = get_session()
    grant = rewards.get_held(session, current_user, public_id)
    held = queries.held_row(session, grant)
    form = DecisionForm()
    status = 200
    if form.validate_on_submit():
        approve = request.form.get("decision") == "approve"
        decided = submit(
            form,
            lambda: rewards.decide(
                session,
                current_user,
                grant,
                approve=approve,
                note=form.note.data or "",
                now=utcnow(),
            ),
        )
        if decided.ok:
            flash("Reward approved and issued." if approve else "Reward denied.", "success")
            return redirect(url_for("rewards.review"))
        status = decided.status
    elif request.method == "POST":
        status = 422
    return render_template(
        "rewards/decide.html",
        held=held,
        form=form,
        describe=describe,
        signal_labels=fraud.SIGNAL_LABELS,
    ), status


def _remember_device(sender: Flask, user: Member, **_: Any) -> None:
    """At every login, the digest of the browser's device cookie: a later join from the
    same browser is the referrer's own (a fraud signal). Its own small transaction, after
    the login's."""
    session = get_session()
    fraud.record_device(session, user, device_digest(), utcnow())
    session.commit()


def install(app: Flask) -> None:
    user_logged_in.connect(_remember_device, app)
