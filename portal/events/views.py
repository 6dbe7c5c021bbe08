"""Events: the members' list, an organiser's create and edit, an event's page (invite a
guest; the guest list and its CSV for organisers), and the guest's own page (/guest)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import (
    Blueprint,
    Response,
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

from portal.applications import service as applications
from portal.applications.forms import raw_answers, reason_of
from portal.clock import utcnow
from portal.db import get_session
from portal.errors import DomainError
from portal.events import service as events
from portal.events.forms import AnswerForm, EventForm, GuestForm, GuestJoinForm
from portal.events.mail import when_text
from portal.extensions import limiter
from portal.models import Event, Member, Organization
from portal.policy import may_create_events, may_manage_event, require
from portal.web import joining
from portal.web.devices import device_digest
from portal.web.joining import already_member, welcome
from portal.web.unit_of_work import submit

bp = Blueprint("events", __name__)

# The session (a signed cookie) holds the guest token's digest, never the token itself.
SESSION_KEY = "event_guest_digest"
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _event_form(event: Event | None = None) -> EventForm:
    form = EventForm()
    form.timezone.choices = [(name, name) for name in events.zone_names()]
    if event is not None and request.method == "GET":
        form.title.data = event.title
        form.starts_at.data = events.local_time(event.starts_at, event.timezone).strftime(
            LOCAL_INPUT
        )
        form.ends_at.data = events.local_time(event.ends_at, event.timezone).strftime(LOCAL_INPUT)
        form.timezone.data = event.timezone
        form.place.data = event.place
        form.online_url.data = event.online_url
        form.description.data = event.description
        form.capacity.data = event.capacity
        form.guests_per_member.data = event.guests_per_member
    elif request.method == "GET":
        form.timezone.data = "Europe/Berlin"
    return form


@bp.route("/events")
@login_required
def index() -> ResponseReturnValue:
    after = request.args.get("after", "")
    if after and not re.fullmatch(r"ev-[0-9a-f]{32}", after):
        abort(404)  # not a cursor this page made (a NUL would even upset PostgreSQL)
    page = events.upcoming(get_session(), current_user, utcnow(), after=after or None)
    return render_template(
        "events/index.html",
        page=page,
        when=when_text,
        may_create=bool(may_create_events(current_user)),
    )


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    require(may_create_events(current_user))
    form = _event_form()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            made = submit(
                form,
                lambda: events.create_event(get_session(), current_user, form.to_input(), utcnow()),
            )
            if made.ok:
                assert made.value is not None
                flash(f"Event “{made.value.title}” created.", "success")
                return redirect(url_for("events.show", public_id=made.value.public_id))
            status = made.status
    return render_template("events/edit.html", form=form, event=None), status


@bp.route("/events/<public_id>/edit", methods=["GET", "POST"])
@login_required
def edit(public_id: str) -> ResponseReturnValue:
    db = get_session()
    event = events.get_event(db, current_user, public_id)
    require(may_manage_event(current_user, event))
    form = _event_form(event)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            done = submit(
                form,
                lambda: events.update_event(db, current_user, event, form.to_input(), utcnow()),
            )
            if done.ok:
                flash("Event saved. Its guests get the new details.", "success")
                return redirect(url_for("events.show", public_id=public_id))
            status = done.status
    return render_template("events/edit.html", form=form, event=event), status


GUEST_PAGE = 100


def _guest_cursor() -> int | None:
    after = request.args.get("after", "")
    if not after:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", after):
        abort(404)
    return int(after)


def _show(event: Event, guest_form: GuestForm, status: int = 200) -> ResponseReturnValue:
    db = get_session()
    organiser = bool(may_manage_event(current_user, event))
    guests = (
        events.guest_list(db, current_user, event, after=_guest_cursor(), limit=GUEST_PAGE + 1)
        if organiser
        else []
    )
    return render_template(
        "events/show.html",
        event=event,
        when=when_text(event),
        form=guest_form,
        mine=events.my_guests(db, current_user, event),
        left=events.allowance_left(db, event, current_user),
        organiser=organiser,
        guests=guests[:GUEST_PAGE],
        next_after=guests[GUEST_PAGE - 1].guest.id if len(guests) > GUEST_PAGE else None,
        counts=events.counts(db, event),
        started=event.starts_at <= utcnow(),
    ), status


@bp.route("/events/<public_id>")
@login_required
def show(public_id: str) -> ResponseReturnValue:
    return _show(events.get_event(get_session(), current_user, public_id), GuestForm())


@bp.route("/events/<public_id>/guests", methods=["POST"])
@login_required
def invite(public_id: str) -> ResponseReturnValue:
    db = get_session()
    event = events.get_event(db, current_user, public_id)
    form = GuestForm()
    if not form.validate_on_submit():
        return _show(event, form, 422)
    sent = submit(
        form,
        lambda: events.invite_guest(
            db,
            current_user,
            event,
            email=form.email.data or "",
            full_name=form.full_name.data or "",
            message=form.message.data or "",
            now=utcnow(),
        ),
    )
    if not sent.ok:
        db.refresh(event)
        return _show(event, form, sent.status)
    assert sent.value is not None
    flash(f"Invitation sent to {sent.value[0].email}.", "success")
    return redirect(url_for("events.show", public_id=public_id))


@bp.route("/events/<public_id>/guests.csv")
@login_required
def guests_csv(public_id: str) -> ResponseReturnValue:
    db = get_session()
    event = events.get_event(db, current_user, public_id)
    rows = events.guest_list(db, current_user, event)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["guest", "email", "status", "invited by", "inviter email", "invited at"])
    for row in rows:
        writer.writerow(
            _cell(value)
            for value in (
                row.guest.full_name,
                row.guest.email,
                row.guest.status,
                row.host_name,
                row.host_email,
                row.guest.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="guests-{event.public_id}.csv"'},
    )


def _cell(value: str) -> str:
    """A value a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- the guest's side (no account) ------------------------------------------------------------


def _guest_problem(error: DomainError) -> ResponseReturnValue:
    return render_template("events/guest_problem.html", error=error), error.status


@bp.route("/guest")
def guest_link() -> ResponseReturnValue:
    token = request.args.get("token")
    if token:
        # Keep the token out of the address bar, history and Referer headers.
        session[SESSION_KEY] = events.digest(token)
        return redirect(url_for("events.guest_link"))
    return _guest_page(AnswerForm(), 200)


def _guest_page(
    form: AnswerForm, status: int, join_form: GuestJoinForm | None = None
) -> ResponseReturnValue:
    digest = session.get(SESSION_KEY)
    if not digest:
        return _guest_problem(
            events.GuestLinkInvalid("Open the link from your invitation e-mail to answer.")
        )
    try:
        view = events.open_guest_link(get_session(), digest)
    except DomainError as error:
        return _guest_problem(error)
    if request.method == "GET":
        form.full_name.data = view.guest.full_name
        form.email.data = view.guest.email
    join_form = join_form or _join_form(view, data={"full_name": view.guest.full_name})
    return render_template(
        "events/guest.html",
        view=view,
        when=when_text(view.event),
        form=form,
        join_form=join_form,
        org_name=current_org_name(view.event.organization_id),
        # Signed-in members are already in; the offer is for the guest's own browser.
        join_refused=None
        if current_user.is_authenticated
        else events.join_offer(get_session(), view),
        signed_in=current_user.is_authenticated,
        started=view.event.starts_at <= utcnow(),
    ), status


def _answer(accepting: bool) -> ResponseReturnValue:
    digest = session.get(SESSION_KEY)
    form = AnswerForm()
    if not digest:
        return _guest_problem(
            events.GuestLinkInvalid("Open the link from your invitation e-mail to answer.")
        )
    if not form.validate_on_submit():
        return _guest_page(form, 422)
    answer = events.accept if accepting else events.decline
    done = submit(
        form,
        lambda: answer(
            get_session(),
            digest,
            email=form.email.data or "",
            full_name=form.full_name.data or "",
            now=utcnow(),
        ),
    )
    if not done.ok:
        return _guest_page(form, done.status)
    assert done.value is not None
    status = done.value.status
    if status == "accepted":
        flash("Thank you: you have a place. See you there!", "success")
    elif status == "waiting":
        flash(
            "This event is full. You are on the waiting list and will get an e-mail if a "
            "place opens up.",
            "info",
        )
    else:
        flash("Thank you for letting us know that you can't come.", "success")
    return redirect(url_for("events.guest_link"))


@bp.route("/guest/accept", methods=["POST"])
def guest_accept() -> ResponseReturnValue:
    return _answer(True)


@bp.route("/guest/decline", methods=["POST"])
def guest_decline() -> ResponseReturnValue:
    return _answer(False)


def _join_form(view: events.GuestView, **kwargs: Any) -> GuestJoinForm:
    """The registration form on the guest's account fields, asked as the host's invitee (the
    host is the sponsor, so their level decides the waiver and whether the reason is asked).
    Prefixed: the answer form above has a Full name field too, and ids must be unique."""
    return joining.join_form(
        get_session(),
        view.event.organization_id,
        view.host,
        base=GuestJoinForm,
        prefix="join",
        **kwargs,
    )


@bp.route("/guest/join", methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT_PER_IP"], scope="join-ip")
def guest_join() -> ResponseReturnValue:
    """Join the organisation from the event: a referral of the member who brought them."""
    if (page := already_member()) is not None:
        return page
    digest = session.get(SESSION_KEY)
    if not digest:
        return _guest_problem(
            events.GuestLinkInvalid("Open the link from your invitation e-mail to answer.")
        )
    try:
        view = events.open_guest_link(get_session(), digest)
    except DomainError as error:
        return _guest_problem(error)
    form = _join_form(view)
    if not form.validate_on_submit():
        return _guest_page(AnswerForm(), 422, form)
    joined = submit(form, lambda: _join(digest, form))
    if not joined.ok:
        return _guest_page(AnswerForm(), joined.status, form)
    assert joined.value is not None
    member, view = joined.value
    org_name = current_org_name(view.event.organization_id)
    return welcome(member, org_name, view.host.full_name, SESSION_KEY)


def _join(digest: str, form: GuestJoinForm) -> tuple[Member, events.GuestView]:
    """The join and, in the same transaction, its application (answers checked there), as
    /join and /r do: a refused answer rolls the member and the invitation back."""
    db = get_session()
    member, view = events.join_as_member(
        db,
        digest,
        full_name=form.full_name.data or "",
        password=form.password.data or "",
        now=utcnow(),
        device_digest=device_digest(),
    )
    applications.record_join(
        db, member, raw_answers=raw_answers(form), reason=reason_of(form), now=utcnow()
    )
    return member, view


def current_org_name(organization_id: int) -> str:
    org = get_session().get(Organization, organization_id)
    return org.name if org else ""
