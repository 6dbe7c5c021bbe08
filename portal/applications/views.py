"""Adhesion's pages: the applicant's "being reviewed" page, open registration (/register),
and Applications (HR and admins in scope: the list, one application, the decision)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from wtforms import TextAreaField

from portal.applications import queries
from portal.applications import service as applications
from portal.applications.forms import raw_answers, reason_of
from portal.applications.questions import settings_of
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.errors import DomainError, NotFound
from portal.extensions import limiter
from portal.models import ApplicationStatus, MembershipSettings, Organization
from portal.policy import may_review_applications, require
from portal.roles import MemberStatus
from portal.validation import PlainText
from portal.web.form_errors import attach_error
from portal.web.joining import already_member, join_form, welcome
from portal.web.unit_of_work import commit, submit

bp = Blueprint("applications", __name__)

# What an applicant awaiting approval may reach; every other page answers with the
# "being reviewed" page (403) instead of the member feature.
PENDING_ALLOWED = {"static", "auth.logout", "auth.login", "applications.status"}


def guard_pending() -> ResponseReturnValue | None:
    """An app-wide before_request: an applicant is signed in but uses no member feature."""
    if (
        current_user.is_authenticated
        and current_user.status == MemberStatus.PENDING_APPROVAL
        and request.endpoint not in PENDING_ALLOWED
        and not (request.endpoint or "").startswith("api.")  # the API has its own tokens
    ):
        return _status_page(403)
    return None


def install(app: Flask) -> None:
    app.before_request(guard_pending)


def _status_page(status: int) -> ResponseReturnValue:
    application = applications.own_application(get_session(), current_user)
    return render_template("applications/status.html", application=application), status


@bp.route("/application")
@login_required
def status() -> ResponseReturnValue:
    return _status_page(200)


# --- open registration ---------------------------------------------------------------------


def _open_orgs(db: Session) -> list[Organization]:
    return list(
        db.exec(
            select(Organization)
            .join(MembershipSettings, MembershipSettings.organization_id == Organization.id)
            .where(MembershipSettings.open_registration)
            .order_by(Organization.name)
            .limit(100)
        ).all()
    )


@bp.route("/register")
def register_choice() -> ResponseReturnValue:
    """One organisation open: its form; several: which one; none: closed."""
    if (page := already_member()) is not None:
        return page
    orgs = _open_orgs(get_session())
    if len(orgs) == 1:
        return redirect(url_for("applications.register", slug=orgs[0].slug))
    return render_template("applications/register_choice.html", orgs=orgs), (200 if orgs else 404)


def _open_org(db: Session, slug: str) -> Organization:
    org = db.exec(select(Organization).where(Organization.slug == slug)).first()
    if org is None or not settings_of(db, org.id).open_registration:  # type: ignore[arg-type]
        abort(404)
    return org


@bp.route("/register/<slug>")
def register(slug: str) -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    db = get_session()
    org = _open_org(db, slug)
    return _register_page(org, join_form(db, org.id, None), 200)  # type: ignore[arg-type]


def _register_page(org: Organization, form: FlaskForm, status: int) -> ResponseReturnValue:
    return render_template(
        "applications/register.html", register_org=org, form=form, brand_org=org
    ), status


@bp.route("/register/<slug>", methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT_PER_IP"], scope="join-ip")
def register_post(slug: str) -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    db = get_session()
    org = _open_org(db, slug)
    form = join_form(db, org.id, None)  # type: ignore[arg-type]
    if not form.validate_on_submit():
        return _register_page(org, form, 422)
    try:
        member, _application = commit(
            lambda: applications.register(
                db,
                org,
                email=form.email.data or "",
                full_name=form.full_name.data or "",
                password=form.password.data or "",
                raw_answers=raw_answers(form),
                reason=reason_of(form),
                now=utcnow(),
                reach=reach(current_app),
            )
        )
    except DomainError as error:
        attach_error(form, error)
        return _register_page(org, form, error.status)
    return welcome(member, org.name, None, None)


# --- Applications (HR and admins) ----------------------------------------------------------


def _before() -> int | None:
    value = request.args.get("before", "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise NotFound("That page of the list doesn't exist.")
    return int(value)


LISTED = {
    "pending": ApplicationStatus.PENDING,
    "approved": ApplicationStatus.APPROVED,
    "rejected": ApplicationStatus.REJECTED,
}


@bp.route("/applications")
@login_required
def index() -> ResponseReturnValue:
    require(may_review_applications(current_user))
    shown = request.args.get("status", "pending")
    if shown not in LISTED:
        raise NotFound("There is no such list of applications.")
    page = queries.applications(get_session(), current_user, LISTED[shown], _before())
    return render_template("applications/index.html", page=page, shown=shown, listed=LISTED)


class DecisionForm(FlaskForm):
    note = TextAreaField(
        "Note to the applicant",
        validators=[PlainText("The note", multiline=True)],
        render_kw={"maxlength": applications.NOTE_MAX},
    )


@bp.route("/applications/<public_id>", methods=["GET", "POST"])
@login_required
def decide(public_id: str) -> ResponseReturnValue:
    db = get_session()
    application = applications.get_for_actor(db, current_user, public_id)
    form = DecisionForm()
    status = 200
    if form.validate_on_submit():
        choice = request.form.get("decision")
        if choice not in ("approve", "reject"):
            form.form_errors.append("Choose Approve or Reject.")
            status = 422
        else:
            approve = choice == "approve"
            decided = submit(
                form,
                lambda: applications.decide(
                    db,
                    current_user,
                    application,
                    approve=approve,
                    note=form.note.data or "",
                    now=utcnow(),
                ),
            )
            if decided.ok:
                flash("Application approved." if approve else "Application rejected.", "success")
                return redirect(url_for("applications.index"))
            status = decided.status
            db.refresh(application)
    elif request.method == "POST":
        status = 422
    row = queries.one(db, application)
    return render_template("applications/decide.html", row=row, form=form), status
