"""Share links: the visitor's side (/r/<code>, the join page) and the owner's actions
(create, regenerate, switch off or on, see who joined)."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlmodel import Session

from portal.applications import service as applications
from portal.applications.forms import raw_answers, reason_of
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.errors import DomainError, Gone
from portal.extensions import limiter
from portal.invites import service as invites
from portal.join.forms import JoinForm
from portal.models import Member
from portal.referrals import service as referrals
from portal.referrals.forms import NewLinkForm
from portal.referrals.panel import link_view, panel_context, qr_svg
from portal.web.devices import device_digest
from portal.web.form_errors import attach_error
from portal.web.joining import already_member, join_form, welcome
from portal.web.organisation import current_org
from portal.web.unit_of_work import commit, or_flash, submit

bp = Blueprint("referrals", __name__)

# The session (a signed cookie) holds the code's digest, never the code itself.
SESSION_KEY = "share_link_digest"


def _dead_end(error: DomainError) -> ResponseReturnValue:
    """Each dead end has its own page: what happened and whom to ask."""
    return render_template("referrals/problem.html", error=error), error.status


def _no_link() -> DomainError:
    return referrals.ShareLinkNotFound("Open the link you were given to join.")


@bp.route("/r/<code>")
def open_link(code: str) -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    # Keep the code out of the address bar, history and Referer headers, like an invitation.
    session[SESSION_KEY] = invites.digest(code)
    try:
        commit(
            lambda: referrals.open_link(
                get_session(), session[SESSION_KEY], utcnow(), count_open=True
            )
        )
    except DomainError as error:
        return _dead_end(error)
    return redirect(url_for("referrals.landing"))


@bp.route("/r")
def landing() -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    digest = session.get(SESSION_KEY)
    if not digest:
        return _dead_end(_no_link())
    try:
        landing = referrals.open_link(get_session(), digest, utcnow())
    except DomainError as error:
        return _dead_end(error)
    return _join_page(
        landing, join_form(get_session(), landing.organization.id, landing.owner), 200
    )


def _join_page(landing: referrals.ShareLanding, form: JoinForm, status: int) -> ResponseReturnValue:
    return render_template(
        "referrals/join.html", landing=landing, form=form, brand_org=landing.organization
    ), status


@bp.route("/r", methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT_PER_IP"], scope="join-ip")
def join() -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    db, digest = get_session(), session.get(SESSION_KEY)
    if not digest:
        return _dead_end(_no_link())
    try:
        landing = referrals.open_link(db, digest, utcnow())
    except DomainError as error:
        return _dead_end(error)
    form = join_form(db, landing.organization.id, landing.owner)
    if not form.validate_on_submit():
        return _join_page(landing, form, 422)
    try:
        member = commit(lambda: _join(db, digest, form))
    except Gone as error:
        return _dead_end(error)  # the link itself is finished: its own page
    except DomainError as error:
        attach_error(form, error)
        return _join_page(landing, form, error.status)
    return welcome(member, landing.organization.name, landing.owner.full_name, SESSION_KEY)


def _join(db: Session, digest: str, form: JoinForm) -> Member:
    """The join and, in the same transaction, its application (answers checked there)."""
    member = referrals.join(
        db,
        digest,
        email=form.email.data or "",
        full_name=form.full_name.data or "",
        password=form.password.data or "",
        now=utcnow(),
        reach=reach(current_app),
        device_digest=device_digest(),
    )
    applications.record_join(
        db, member, raw_answers=raw_answers(form), reason=reason_of(form), now=utcnow()
    )
    return member


# --- the owner's side ---------------------------------------------------------------------


def _back() -> ResponseReturnValue:
    return redirect(url_for("invites.dashboard") + "#share-links")


@bp.route("/invites/links", methods=["POST"])
@login_required
def create() -> ResponseReturnValue:
    form = NewLinkForm()
    if form.validate_on_submit():
        made = submit(
            form,
            lambda: referrals.create_link(
                get_session(),
                current_user,
                label=form.label.data or "",
                campaign=bool(form.campaign.data),
                now=utcnow(),
            ),
        )
        if made.ok:
            flash(f"Link “{made.value.label}” created.", "success")
            return _back()
        status = made.status
    else:
        status = 422
    # The dashboard again, with the refusal beside the label field.
    return render_template("referrals/new_link_refused.html", **panel_context(form=form)), status


@bp.route("/invites/links/<public_id>/regenerate", methods=["POST"])
@login_required
def regenerate(public_id: str) -> ResponseReturnValue:
    db = get_session()
    link = referrals.get_own_link(db, current_user, public_id)
    if or_flash(lambda: referrals.regenerate(db, current_user, link, utcnow())).ok:
        flash("A new link was made. The old one no longer works.", "success")
    return _back()


@bp.route("/invites/links/<public_id>/switch", methods=["POST"])
@login_required
def switch(public_id: str) -> ResponseReturnValue:
    db = get_session()
    link = referrals.get_own_link(db, current_user, public_id)
    enabled = request.form.get("enabled") == "on"
    done = or_flash(lambda: referrals.switch(db, current_user, link, enabled=enabled, now=utcnow()))
    if done.ok:
        flash("The link is on again." if enabled else "The link is switched off.", "success")
    return _back()


def _cursor() -> int | None:
    after = request.args.get("after", "")
    if not after:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", after):
        abort(404)
    return int(after)


@bp.route("/invites/links/<public_id>")
@login_required
def show(public_id: str) -> ResponseReturnValue:
    """One link: its address and QR code, its counts, and who joined through it."""
    db = get_session()
    link = referrals.get_own_link(db, current_user, public_id)
    _org, settings = current_org()
    assert settings is not None
    view = link_view(link, settings)
    page = referrals.joined_through(db, current_user, link, after=_cursor())
    return render_template(
        "referrals/link.html",
        view=view,
        page=page,
        qr=qr_svg(view.url, "QR code of this link"),
    )
