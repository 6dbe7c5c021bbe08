"""Settings → Webhooks: endpoints, their secrets, test events and recent deliveries."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from portal.clock import utcnow
from portal.db import get_session
from portal.models import WebhookEndpoint
from portal.validation import PlainText
from portal.web.guards import admins_only
from portal.web.htmx import render
from portal.web.unit_of_work import or_flash, submit
from portal.webhooks import service as webhooks
from portal.webhooks.channel import url_rules

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

bp.before_request(admins_only)

# Readable words first, with the code beside it: the code is what receivers see.
EVENT_LABELS = {
    "INVITE_INVITED": "An invitation e-mail was delivered (INVITE_INVITED)",
    "INVITE_LINKED": "An invitee joined (INVITE_LINKED)",
    "INVITE_EXPIRED": "An invitation expired (INVITE_EXPIRED)",
    "INVITE_REVOKED": "An invitation was revoked (INVITE_REVOKED)",
    "REWARD_ISSUED": "A referral reward was granted (REWARD_ISSUED)",
    "REWARD_HELD": "A referral reward was held for review (REWARD_HELD)",
    "REWARD_REVOKED": "A referral reward was clawed back (REWARD_REVOKED)",
    "APPLICATION_SUBMITTED": "Someone joined and awaits approval (APPLICATION_SUBMITTED)",
    "APPLICATION_APPROVED": "A membership application was approved (APPLICATION_APPROVED)",
    "APPLICATION_REJECTED": "A membership application was rejected (APPLICATION_REJECTED)",
    "EVENT_GUEST_INVITED": "A member invited a guest to an event (EVENT_GUEST_INVITED)",
    "EVENT_GUEST_ACCEPTED": "An event guest accepted or got a place (EVENT_GUEST_ACCEPTED)",
    "EVENT_GUEST_DECLINED": "An event guest declined (EVENT_GUEST_DECLINED)",
}


class EndpointForm(FlaskForm):
    # Rules (https, public address, known events) live in the service; the form refuses
    # control characters up front.
    url = URLField("Endpoint URL", validators=[PlainText("A webhook address")])
    event_types = SelectMultipleField(
        "Events",
        choices=[SelectChoice(t, EVENT_LABELS[t]) for t in webhooks.EVENT_TYPES],
        default=list(webhooks.EVENT_TYPES),
        validators=[PlainText("An event type")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    description = StringField("Description (optional)", validators=[PlainText("A description")])


def _rules() -> webhooks.UrlRules:
    require_https, allow_private = url_rules(current_app)
    return webhooks.UrlRules(require_https=require_https, allow_private=allow_private)


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    form = EndpointForm()
    status = 200
    if form.validate_on_submit():
        created = submit(form, lambda: _create_endpoint(form))
        status = created.status
        if created.ok:
            endpoint, secret = created.value
            # Shown once, in this response only: never stored in the clear or in a cookie.
            return render_template(
                "webhooks/endpoint.html", endpoint=endpoint, secret=secret, deliveries=[]
            )
    elif form.errors:
        status = 422  # a field the form refused (a control character); CSRF failures are 400
    return render_template(
        "webhooks/index.html", form=form, endpoints=webhooks.list_endpoints(session, current_user)
    ), status


def _create_endpoint(form: EndpointForm) -> tuple[WebhookEndpoint, str]:
    return webhooks.create_endpoint(
        get_session(),
        current_user,
        url=form.url.data or "",
        event_types=form.event_types.data or [],
        description=form.description.data or "",
        rules=_rules(),
        now=utcnow(),
    )


def _endpoint(public_id: str) -> WebhookEndpoint:
    return webhooks.get_endpoint(get_session(), current_user, public_id)


@bp.route("/<public_id>")
def show(public_id: str) -> ResponseReturnValue:
    endpoint = _endpoint(public_id)
    deliveries = webhooks.recent_deliveries(get_session(), endpoint)
    return render(
        "webhooks/endpoint.html",
        "webhooks/_deliveries.html",
        endpoint=endpoint,
        deliveries=deliveries,
        secret=None,
    )


@bp.route("/<public_id>/test", methods=["POST"])
def send_test(public_id: str) -> ResponseReturnValue:
    session = get_session()
    webhooks.send_test_event(session, current_user, _endpoint(public_id), utcnow())
    session.commit()
    flash("Test event queued. Its delivery appears below within seconds.", "success")
    return redirect(url_for("settings.webhooks.show", public_id=public_id))


@bp.route("/<public_id>/roll-secret", methods=["POST"])
def roll_secret(public_id: str) -> ResponseReturnValue:
    session = get_session()
    endpoint = _endpoint(public_id)
    secret = webhooks.roll_secret(session, current_user, endpoint, utcnow())
    session.commit()
    return render_template(
        "webhooks/endpoint.html",
        endpoint=endpoint,
        secret=secret,
        deliveries=webhooks.recent_deliveries(session, endpoint),
    )


@bp.route("/<public_id>/enabled", methods=["POST"])
def set_enabled(public_id: str) -> ResponseReturnValue:
    session = get_session()
    enabled = request.form.get("enabled") == "1"
    webhooks.set_enabled(session, current_user, _endpoint(public_id), enabled, utcnow())
    session.commit()
    flash("Endpoint enabled." if enabled else "Endpoint disabled.", "success")
    return redirect(url_for("settings.webhooks.show", public_id=public_id))


@bp.route("/<public_id>/deliveries/<int:item_id>/retry", methods=["POST"])
def retry(public_id: str, item_id: int) -> ResponseReturnValue:
    retried = or_flash(
        lambda: webhooks.retry_delivery(
            get_session(), current_user, _endpoint(public_id), item_id, utcnow()
        )
    )
    if retried.ok:
        flash("Delivery queued again.", "success")
    return redirect(url_for("settings.webhooks.show", public_id=public_id))
