"""Settings → API tokens (ADMIN_TENANT only): list, create (shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.api import tokens
from portal.api.tokens import MAX_NAME, SCOPES
from portal.clock import utcnow
from portal.db import get_session
from portal.errors import DomainError
from portal.models import Member
from portal.roles import MemberStatus
from portal.validation import PlainText
from portal.web.form_errors import attach_error
from portal.web.guards import admins_only

bp = Blueprint("api_tokens", __name__, url_prefix="/api-tokens")

bp.before_request(admins_only)


class TokenForm(FlaskForm):
    # Rules live in the service (portal.api.tokens); the form only carries the values and
    # refuses control characters up front.
    name = StringField(
        "Name", validators=[PlainText("A token name")], render_kw={"maxlength": MAX_NAME}
    )
    owner = SelectField("Owner", validators=[PlainText("The owner")], validate_choice=False)
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(name, meaning) for name, meaning in SCOPES.items()],
        validators=[PlainText("A scope")],
        validate_choice=False,
    )
    expires_on = DateField(
        "Expires on (optional)",
        validators=[PlainText("An expiry date"), Optional()],
        format="%Y-%m-%d",
    )


def _form(blank: bool = False) -> TokenForm:
    """The form, with the organisation's active members to choose the owner from."""
    form = TokenForm(formdata=None) if blank else TokenForm()
    members = (
        get_session()
        .exec(
            select(Member.public_id, Member.full_name, Member.email)
            .where(
                Member.organization_id == current_user.organization_id,
                Member.status == MemberStatus.ACTIVE.value,
            )
            .order_by(Member.full_name)
        )
        .all()
    )
    form.owner.choices = [SelectChoice(pid, f"{name} ({email})") for pid, name, email in members]
    if form.owner.data is None:
        form.owner.data = current_user.public_id
    return form


def _page(form: TokenForm, status: int = 200, created: tokens.Created | None = None):
    listed = tokens.list_tokens(get_session(), current_user)
    return render_template(
        "api/tokens.html", form=form, tokens=listed, created=created, now=utcnow()
    ), status


@bp.get("")
def index() -> ResponseReturnValue:
    return _page(_form())


@bp.post("")
def create() -> ResponseReturnValue:
    session = get_session()
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 400)
    try:
        created = tokens.create_token(
            session,
            current_user,
            name=form.name.data or "",
            owner_public_id=form.owner.data or "",
            scopes=list(form.scopes.data or []),
            expires_on=form.expires_on.data,
            now=utcnow(),
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        attach_error(form, error)
        return _page(form, error.status)
    # Shown on this response only (no redirect, no flash): the secret is never stored, so it
    # must not wait in a cookie, and the page must not be kept in a cache either.
    body, status = _page(_form(blank=True), created=created)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token_id>/revoke")
def confirm_revoke(token_id: str) -> ResponseReturnValue:
    token = tokens.get_token(get_session(), current_user, token_id)
    return render_template("api/revoke_token.html", token=token)


@bp.post("/<token_id>/revoke")
def revoke(token_id: str) -> ResponseReturnValue:
    session = get_session()
    token = tokens.get_token(session, current_user, token_id)
    tokens.revoke_token(session, current_user, token, utcnow())
    session.commit()
    flash(f"The token “{token.name}” was revoked. Requests with it are now refused.", "success")
    return redirect(url_for("settings.api_tokens.index"))
