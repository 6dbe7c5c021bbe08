"""The invitee's side: open the link, see who invited you, join."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session

from portal.applications import service as applications
from portal.applications.forms import raw_answers, reason_of
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.errors import DomainError, Gone, InvalidInvite, InviteExpired
from portal.extensions import limiter
from portal.invites import service as invites
from portal.invites.queries import link_organization
from portal.join.forms import JoinForm
from portal.models import Member
from portal.web.devices import device_digest
from portal.web.form_errors import attach_error
from portal.web.joining import already_member, join_form, welcome
from portal.web.unit_of_work import commit

bp = Blueprint("join", __name__)

# The session (a signed cookie) holds the digest, never the secret itself.
SESSION_KEY = "invite_digest"


def _problem(error: DomainError, digest: str | None = None) -> ResponseReturnValue:
    """Each link problem has its own page: what happened and what the invitee can do, under
    the branding of the organisation that sent the link when the link says which one (only
    on this error path, so a working link's landing stays one query)."""
    brand = link_organization(get_session(), digest) if digest else None
    return render_template(
        "join/problem.html",
        error=error,
        expired=isinstance(error, InviteExpired),
        brand_org=brand,
    ), error.status


@bp.route("/join")
def landing() -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    db = get_session()
    if secret := request.args.get("invite_id"):
        # Keep the link's secret out of the address bar, history and Referer headers.
        session[SESSION_KEY] = invites.digest(secret)
        try:
            commit(lambda: invites.open_link(db, session[SESSION_KEY], utcnow()))  # first visit
        except DomainError as error:
            return _problem(error, session[SESSION_KEY])
        return redirect(url_for("join.landing"))
    digest = session.get(SESSION_KEY)
    if not digest:
        return _problem(InvalidInvite("Open the link from your invitation e-mail to join."))
    try:
        landing = invites.open_link(db, digest, utcnow())
    except DomainError as error:
        return _problem(error, digest)
    form = join_form(
        db,
        landing.organization.id,
        landing.inviter,
        data={"full_name": landing.invitation.full_name, "email": landing.invitation.email},
    )
    return render_template(
        "join/landing.html", landing=landing, form=form, brand_org=landing.organization
    )


@bp.route("/join", methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT_PER_IP"], scope="join-ip")
def join() -> ResponseReturnValue:
    if (page := already_member()) is not None:
        return page
    db, digest = get_session(), session.get(SESSION_KEY)
    if not digest:
        return _problem(InvalidInvite("Open the link from your invitation e-mail to join."))
    try:
        landing = invites.open_link(db, digest, utcnow())
    except DomainError as error:
        return _problem(error, digest)
    form = join_form(db, landing.organization.id, landing.inviter)
    if not form.validate_on_submit():
        # A field the form refused (a control character); CSRF failures are 400.
        return _join_page(landing, form, 422)
    if landing.bind_email:
        form.email.data = landing.invitation.email  # read-only on the page; never trusted
    try:
        member = commit(lambda: _accept(db, digest, form))
    except Gone as error:
        return _problem(error, digest)  # the link itself is finished: its own page, not the form's
    except DomainError as error:
        attach_error(form, error)
        return _join_page(landing, form, error.status)
    return welcome(member, landing.organization.name, landing.inviter.full_name, SESSION_KEY)


def _accept(db: Session, digest: str, form: JoinForm) -> Member:
    """The join and, in the same transaction, its application (answers checked there)."""
    member = invites.accept(
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


def _join_page(landing: invites.Landing, form: JoinForm, status: int) -> ResponseReturnValue:
    return render_template(
        "join/landing.html", landing=landing, form=form, brand_org=landing.organization
    ), status


@bp.route("/join/request-new", methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT_PER_IP"], scope="join-ip")
def request_new() -> ResponseReturnValue:
    db = get_session()
    digest = session.get(SESSION_KEY)
    try:
        inviter = commit(lambda: invites.request_renewal(db, digest or "", utcnow()))
    except DomainError as error:
        return _problem(error, digest)
    return render_template(
        "join/renewal_requested.html", inviter=inviter, brand_org=link_organization(db, digest)
    )
