"""Settings → Audit log (ADMIN_TENANT only): newest first, filtered, an "Older" page at a
time (plain links, so it works without JavaScript)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from portal.audit import present, queries
from portal.audit.service import ACTIONS
from portal.db import get_session
from portal.email_addresses import normalise_email
from portal.errors import DomainError, Invalid
from portal.policy import may_read_audit_log
from portal.validation import PlainText
from portal.web.form_errors import attach_error
from portal.web.guards import allowing

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
FILTERS = ("action", "actor", "since", "until")

# Its own rule (and its own words for a refusal), not admins_only.
bp.before_request(allowing(may_read_audit_log))


class DayField(DateField):
    """A date (YYYY-MM-DD, which browsers' date pickers send), refused in words."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a date such as 2026-03-14.") from exc


class ActionField(SelectField):
    def pre_validate(self, form: FlaskForm) -> None:
        if self.data and self.data not in ACTIONS:
            raise ValidationError("Choose an action from the list.")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # reading only; a filter link must work when shared

    action = ActionField(
        "Action",
        choices=[SelectChoice("", "Any action")]
        + [SelectChoice(name, label) for name, label in ACTIONS.items()],
        validators=[PlainText("An action"), Optional()],
    )
    actor = StringField(
        "Done by (e-mail)",
        validators=[
            PlainText("An address"),
            Optional(),
            Length(max=320, message="At most 320 characters."),
        ],
    )
    since = DayField("From", validators=[Optional()], format="%Y-%m-%d")
    until = DayField("To", validators=[Optional()], format="%Y-%m-%d")

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Choose an end date on or after the start date.")


def day_start(day: date) -> datetime:
    """Dates on the page are UTC days, as the table's times are."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filters(form: AuditFilterForm) -> queries.AuditFilters:
    actor_id = None
    if form.actor.data:
        email = normalise_email(form.actor.data, field="actor")
        actor = queries.member_by_email(get_session(), current_user.organization_id, email)
        if actor is None:
            raise Invalid("No member of your organisation has this address.", field="actor")
        actor_id = actor.id
    return queries.AuditFilters(
        action=form.action.data or None,
        actor_id=actor_id,
        created_after=day_start(form.since.data) if form.since.data else None,
        created_before=day_start(form.until.data + timedelta(days=1)) if form.until.data else None,
    )


@bp.get("")
def index() -> ResponseReturnValue:
    form = AuditFilterForm(formdata=request.args)
    cursor = request.args.get("cursor") or None
    page, status = queries.AuditPage(), 200
    if not form.validate():
        status = 422
    else:
        try:
            page = queries.list_events(
                get_session(),
                current_user.organization_id,
                _filters(form),
                limit=PAGE_SIZE,
                cursor=cursor,
            )
        except DomainError as error:
            attach_error(form, error)
            status = error.status
    kept = {name: request.args[name] for name in FILTERS if request.args.get(name)}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        present=present,
        older_url=url_for("settings.audit.index", **kept, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        newest_url=url_for("settings.audit.index", **kept) if cursor else None,
        filtered=bool(kept),
    ), status
