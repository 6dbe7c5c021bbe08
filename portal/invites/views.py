"""The invitation dashboard: send, list, resend, extend, revoke."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.email_addresses import split_addresses
from portal.email_templates import service as email_templates
from portal.errors import DomainError, DuplicatePending, NoSuchTemplate
from portal.invites import queries
from portal.invites import service as invites
from portal.invites.forms import MAX_AT_ONCE, InviteForm
from portal.invites.service import effective_status
from portal.models import Invitation
from portal.policy import (
    may_manage_invitation,
    may_open_invitations,
    may_pick_template,
    may_send_invitations,
    require,
)
from portal.referrals.panel import panel_context
from portal.text import day
from portal.web.htmx import render, wants_partial
from portal.web.organisation import current_org
from portal.web.unit_of_work import commit, submit

bp = Blueprint("invites", __name__, url_prefix="/invites")
bp.add_app_template_filter(queries.count_label, "invitation_count")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here is for members; the policy decides the rest per action."""


def _cursor() -> int | None:
    """The "Load more" cursor: an id, or None when absent or not a plain number."""
    after = request.args.get("after", "")
    return int(after) if re.fullmatch(r"[0-9]{1,18}", after) else None


def _filters() -> queries.Filters:
    return queries.Filters(inviter=request.values.get("inviter") or None)


def _open_list() -> str:
    """The one list the dashboard shows rows of (the others show their counts)."""
    chosen = request.values.get("list")
    return chosen if chosen in queries.BUCKETS else "pending"


@dataclass(frozen=True)
class Refusal:
    """A row action that was refused: its message is shown where its button was."""

    public_id: str
    action: str
    message: str


def lists_context(notice: str | None = None, refusal: Refusal | None = None) -> dict[str, Any]:
    """Everything _lists.html needs: the four counts (one query) and a page of the open list."""
    session, now, filters = get_session(), utcnow(), _filters()
    page = queries.list_page(session, current_user, _open_list(), now, filters, after=_cursor())
    return {
        "page": page,
        "counts": queries.counts(session, current_user, now, filters),
        "filters": filters,
        "inviters": queries.inviters_in_scope(session, current_user),
        "sees_others": queries.sees_others(current_user),
        "notice": notice,
        "refusal": refusal,
    }


def _require_may_invite() -> None:
    _org, settings = current_org()
    require(may_send_invitations(current_user, settings))


def _send_context(**form_kwargs: Any) -> dict[str, Any]:
    """The send form, or, for HR and admins who may not send now, why not (instead of it)."""
    _org, settings = current_org()
    if not (sending := may_send_invitations(current_user, settings)):
        return {"form": None, "send_refusal": sending.reason}
    return {"form": _invite_form(**form_kwargs), "send_refusal": None}


@bp.route("")
def dashboard() -> ResponseReturnValue:
    _org, settings = current_org()
    require(may_open_invitations(current_user, settings))
    if wants_partial():  # the lists only: the share-links panel isn't swapped
        return render("invites/dashboard.html", "invites/_lists.html", **lists_context())
    return render(
        "invites/dashboard.html",
        "invites/_lists.html",
        **_send_context(),
        **lists_context(),
        **panel_context(),
    )


@bp.route("/more/<bucket>")
def more(bucket: str) -> ResponseReturnValue:
    """The next page of one list (htmx "Load more")."""
    if bucket not in queries.BUCKETS or (after := _cursor()) is None:
        abort(404)
    page = queries.list_page(get_session(), current_user, bucket, utcnow(), _filters(), after=after)
    return render(
        "invites/_rows.html",
        "invites/_rows.html",
        page=page,
        sees_others=queries.sees_others(current_user),
        filters=_filters(),
    )


@bp.route("", methods=["POST"])
def send() -> ResponseReturnValue:
    _require_may_invite()
    form, now = _invite_form(), utcnow()
    if not form.validate_on_submit():
        # A field the form refused (a control character); CSRF failures are 400.
        return _send_form_again(form, None, 422)
    addresses = split_addresses(form.email.data or "")
    if len(addresses) > MAX_AT_ONCE:
        form.email.errors.append(
            f"That is {len(addresses)} addresses: up to {MAX_AT_ONCE} can be invited at once. "
            "Send them in smaller groups (or use a bulk upload). Nothing was sent."
        )
        return _send_form_again(form, None, 422)
    if len(addresses) > 1:
        return _send_several(form, addresses, now)
    if addresses:  # one address, whatever separators were typed around it
        form.email.data = addresses[0]
    # A concurrent submit may win the race for this address: then answer as it stands.
    sent = submit(form, lambda: _send_invitation(form, now))
    if sent.error is not None:
        return _send_refused(form, sent.error, now)
    notice = f"Invitation sent to {sent.value.invitation.email}."
    if not wants_partial():
        flash(notice, "success")
        return redirect(url_for("invites.dashboard"))
    return _sent(sent.value.invitation, notice)


def _sent(
    invitation: Invitation | list[Invitation],
    notice: str | None,
    form: InviteForm | None = None,
    **context: Any,
) -> ResponseReturnValue:
    """The htmx answer to a send: a cleared form, the counts, and the new rows, put at the
    top of the pending list when that list is the one open and would show them."""
    session, now, filters = get_session(), utcnow(), _filters()
    sent = invitation if isinstance(invitation, list) else [invitation]
    counts = queries.counts(session, current_user, now, filters)
    shows_it = _open_list() == "pending" and filters.inviter in (None, current_user.public_id)
    rows = [queries.Row(one, current_user.full_name, effective_status(one, now)) for one in sent]
    # Newest first, as the list shows them.
    page = queries.Page("pending", rows[::-1], next_after=None) if shows_it and rows else None
    first = page is not None and counts["pending"] == len(rows)
    return render_template(
        "invites/_send_success.html",
        form=form or _invite_form(formdata=None),
        notice=notice,
        counts=counts,
        new_rows=page,
        first_page=page if first else None,
        filters=filters,
        sees_others=queries.sees_others(current_user),
        **context,
    )


@dataclass(frozen=True)
class Answer:
    """What became of one of several addresses sent at once: sent, or refused and why (with
    the pending invitation to offer a Resend of, when the sender may resend it)."""

    email: str
    sent: bool
    message: str
    resendable: Invitation | None = None


def _send_several(form: InviteForm, addresses: list[str], now: datetime) -> ResponseReturnValue:
    """Each address in a transaction of its own, so the valid ones are sent whatever becomes
    of the others; the Full name is one person's, so it is left out (the hint says so)."""
    answers: list[Answer] = []
    sent: list[Invitation] = []
    for address in addresses:
        try:
            invitation = commit(lambda a=address: _send_invitation(form, now, a)).invitation
        except DomainError as error:
            if invites.counts_against_limit(error):
                commit(
                    lambda e=error: invites.record_refused_send(get_session(), current_user, e, now)
                )
            answers.append(_refusal_answer(address, error))
            continue
        sent.append(invitation)
        answers.append(Answer(invitation.email, True, f"Sent to {invitation.email}."))
    refused = [answer.email for answer in answers if not answer.sent]
    # The refused addresses stay in the field, to be corrected and sent again.
    again = _invite_form(formdata=None, data={"email": "\n".join(refused)})
    summary = (
        f"{len(sent)} of {len(addresses)} invitations sent."
        if sent
        else f"None of the {len(addresses)} invitations was sent."
    )
    status = 200 if sent else 422
    if wants_partial():
        return _sent(sent, None, again, answers=answers, send_summary=summary), status
    return render_template(
        "invites/dashboard.html",
        form=again,
        answers=answers,
        send_summary=summary,
        **lists_context(),
        **panel_context(),
    ), status


def _refusal_answer(address: str, error: DomainError) -> Answer:
    resendable = None
    if isinstance(error, DuplicatePending):
        pending = error.details["invitation"]
        resendable = pending if may_manage_invitation(current_user, pending) else None
    return Answer(address, False, error.message, resendable)


def _send_invitation(form: InviteForm, now: datetime, address: str | None = None) -> invites.Sent:
    try:
        return invites.send_invitation(
            get_session(),
            current_user,
            email=(form.email.data or "") if address is None else address,
            full_name=(form.full_name.data or "") if address is None else "",
            message=form.message.data or "",
            template_public_id=_chosen_template(form),
            now=now,
            reach=reach(current_app),
        )
    except NoSuchTemplate as error:
        # On the form the template is a choice from a list (one deleted since it loaded).
        raise NoSuchTemplate(f"{error.message} Pick another one.", field=error.field) from error


def _send_refused(form: InviteForm, error: DomainError, now: datetime) -> ResponseReturnValue:
    """The form again with the refusal; a refusal that counts against the daily limit is
    recorded in a transaction of its own (the refusal rolled the send back)."""
    if invites.counts_against_limit(error):
        commit(lambda: invites.record_refused_send(get_session(), current_user, error, now))
    duplicate = None
    if isinstance(error, DuplicatePending):
        # Offer Resend only to someone who may resend that invitation.
        pending = error.details["invitation"]
        duplicate = pending if may_manage_invitation(current_user, pending) else None
    return _send_form_again(form, duplicate, error.status)


def _send_form_again(form: InviteForm, duplicate: Any, status: int) -> ResponseReturnValue:
    if wants_partial():
        return render_template("invites/_send_form.html", form=form, duplicate=duplicate), status
    return render_template(
        "invites/dashboard.html",
        form=form,
        duplicate=duplicate,
        **lists_context(),
        **panel_context(),
    ), status


def _invite_form(**kwargs: Any) -> InviteForm:
    """The send form; HR and admins also get the template select (when there are templates)."""
    form = InviteForm(**kwargs)
    if may_pick_template(current_user):
        form.template_id.choices = _template_choices()
    return form


def _template_choices() -> list[tuple[str, str]]:
    """The organisation's templates as choices, read once per request (a send builds the
    posted form and then a cleared one)."""
    if "template_choices" not in g:
        templates = email_templates.list_templates(get_session(), current_user.organization_id)
        choices = []
        if templates:
            default = email_templates.pick_default(templates)
            label = f"Default ({default.name})" if default else "Default (built-in e-mail)"
            choices = [("", label)] + [(t.public_id, t.name) for t in templates]
        g.template_choices = choices
    return g.template_choices


def _chosen_template(form: InviteForm) -> str | None:
    """The picked template's public id (the service checks it is the organisation's), or
    None for the default. Members who may not pick get the default whatever was posted."""
    if not form.template_id.choices or not form.template_id.data:
        return None
    return form.template_id.data


ACTIONS = {
    "resend": (invites.resend, "Invitation resent to {email}. The previous link no longer works."),
    "extend": (invites.extend, "The invitation to {email} now expires on {expires}."),
    "revoke": (invites.revoke, "The invitation to {email} was revoked."),
}


@bp.route("/<public_id>/<action>", methods=["POST"])
def act(public_id: str, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    operation, template = ACTIONS[action]
    session = get_session()
    invitation = invites.get_for_actor(session, current_user, public_id)
    if action == "revoke" and request.form.get("confirmed") != "yes":
        return confirm_revoke(public_id)  # without JavaScript, the page that asks first
    try:
        commit(lambda: operation(session, current_user, invitation, utcnow()))
    except DomainError as error:
        return _refused(Refusal(public_id, action, error.message), error.status)
    notice = template.format(email=invitation.email, expires=day(invitation.expires_at))
    if wants_partial():
        if request.form.get("from") == "send-form":
            # The offer came from the send form's refusal: clear that too.
            return render_template(
                "invites/_send_form_done.html",
                form=_invite_form(formdata=None),
                **lists_context(notice),
            )
        return render_template("invites/_lists.html", **lists_context(notice))
    flash(notice, "success")
    return redirect(url_for("invites.dashboard", list=_open_list(), inviter=_filters().inviter))


def _refused(refusal: Refusal, status: int) -> ResponseReturnValue:
    """A refused row action: the lists (or, without JavaScript, the dashboard) again, with
    the refusal where the button was, or at the top when that row isn't on the page."""
    context = lists_context(refusal=refusal)
    if not any(row.invitation.public_id == refusal.public_id for row in context["page"].rows):
        context["refusal"] = None
        context["notice_error"] = refusal.message
    if wants_partial():
        if request.form.get("from") == "send-form":
            context.update(_send_context(formdata=None))
            context["notice_error"], context["refusal"] = refusal.message, None
            return render_template("invites/_send_form_done.html", **context), status
        return render_template("invites/_lists.html", **context), status
    return render_template(
        "invites/dashboard.html", **_send_context(), **context, **panel_context()
    ), status


@bp.route("/<public_id>/revoke", methods=["GET"])
def confirm_revoke(public_id: str) -> ResponseReturnValue:
    """Without JavaScript, revoking asks on its own page (with htmx, hx-confirm asks)."""
    invitation = invites.get_for_actor(get_session(), current_user, public_id)
    return render_template(
        "invites/confirm_revoke.html",
        invitation=invitation,
        open_list=_open_list(),
        inviter=_filters().inviter,
    )
