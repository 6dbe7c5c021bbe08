"""Settings → Invitations (ADMIN_TENANT only): who may invite, how long invitations last,
and the organisation's name and branding. The rules are portal.orgs.settings'; the form
checks them too, to show every problem at once beside its field."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.clock import utcnow
from portal.db import get_session
from portal.models import InvitationSettings, Organization
from portal.orgs.service import settings_for
from portal.orgs.settings import (
    BRAND_COLOR,
    DAILY_LIMIT,
    EXPIRY_DAYS,
    MAX_DESCRIPTION,
    MAX_LOGO_URL,
    MAX_NAME,
    VALIDITY_DAYS,
    Count,
    InvitationSettingsInput,
    reminder_problem,
    update_invitation_settings,
    validity_problem,
)
from portal.roles import INVITER_LEVEL_EXPLANATIONS, ROLE_ORDER, Role
from portal.validation import PlainText
from portal.web.guards import admins_only
from portal.web.unit_of_work import submit

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

bp.before_request(admins_only)


def _count(rule: Count) -> list[InputRequired | NumberRange]:
    """The service's rule for a number, as the form's validators (the same words)."""
    return [InputRequired(rule.missing), NumberRange(rule.lowest, rule.highest, rule.out_of_range)]


class InvitationSettingsForm(FlaskForm):
    enabled = BooleanField("Enable invitations")
    min_inviter_role = SelectField(
        "Who can send invitations",
        validators=[PlainText("The level who can send invitations")],
        choices=[
            SelectChoice(r.value, f"{r.label} — {INVITER_LEVEL_EXPLANATIONS[r]}")
            for r in ROLE_ORDER
        ],
    )
    expiry_days = IntegerField("Invitation expiry (days)", validators=_count(EXPIRY_DAYS))
    max_validity_days = IntegerField(
        "Longest an invitation can stay open (days)", validators=_count(VALIDITY_DAYS)
    )
    reminder_days = IntegerField(
        "Remind invitees after (days)",
        validators=[Optional()],  # empty: no reminders
    )
    daily_limit_per_member = IntegerField(
        "Daily invitations per member", validators=_count(DAILY_LIMIT)
    )
    bind_invitee_email = BooleanField("Invitees must register with the invited address")
    name = StringField(
        "Organisation name",
        validators=[
            PlainText("An organisation name"),
            DataRequired("Enter the organisation's name."),
            Length(max=MAX_NAME, message=f"At most {MAX_NAME} characters."),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[
            PlainText("A description", multiline=True),
            Length(max=MAX_DESCRIPTION, message=f"At most {MAX_DESCRIPTION:,} characters."),
        ],
    )
    brand_color = StringField(
        "Brand colour",
        validators=[
            PlainText("A brand colour"),
            DataRequired("Enter a colour such as #2f6f4f."),
            # \Z, not $: $ also matches before a final line break.
            Regexp(BRAND_COLOR + r"\Z", message="Use a hex colour such as #2f6f4f."),
        ],
    )
    logo_url = URLField(
        "Logo URL",
        validators=[
            PlainText("A logo address"),
            Optional(),
            Length(max=MAX_LOGO_URL, message=f"At most {MAX_LOGO_URL} characters."),
            URL(
                require_tld=False,
                message="Enter a full address such as https://example.org/logo.png.",
            ),
            Regexp(r"https://", message="The logo address must start with https://."),
        ],
    )

    def validate_max_validity_days(self, field: IntegerField) -> None:
        # The same rule as the service, next to the field.
        if (problem := validity_problem(self.expiry_days.data, field.data)) is not None:
            raise ValidationError(problem)

    def validate_reminder_days(self, field: IntegerField) -> None:
        if (problem := reminder_problem(self.expiry_days.data, field.data)) is not None:
            raise ValidationError(problem)


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    org = session.get(Organization, current_user.organization_id)
    settings = settings_for(session, current_user.organization_id)
    form = InvitationSettingsForm(data=_form_data(org, settings))
    if form.validate_on_submit():
        values = _values(form)
        saved = submit(
            form, lambda: update_invitation_settings(session, current_user, values, utcnow())
        )
        if saved.ok:
            flash("Invitation settings saved.", "success")
            return redirect(url_for("settings.invitations.index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/invitation_settings.html", form=form), status


def _form_data(org: Organization | None, settings: InvitationSettings) -> dict[str, Any]:
    assert org is not None  # a signed-in member's organisation exists
    return {
        "enabled": settings.enabled,
        "min_inviter_role": settings.min_inviter_role,
        "expiry_days": settings.expiry_days,
        "max_validity_days": settings.max_validity_days,
        "daily_limit_per_member": settings.daily_limit_per_member,
        "reminder_days": settings.reminder_days,
        "bind_invitee_email": settings.bind_invitee_email,
        "name": org.name,
        "description": org.description,
        "brand_color": org.brand_color,
        "logo_url": org.logo_url,
    }


def _values(form: InvitationSettingsForm) -> InvitationSettingsInput:
    return InvitationSettingsInput(
        enabled=form.enabled.data,
        min_inviter_role=Role(form.min_inviter_role.data),
        expiry_days=form.expiry_days.data,
        max_validity_days=form.max_validity_days.data,
        daily_limit_per_member=form.daily_limit_per_member.data,
        reminder_days=form.reminder_days.data or None,
        bind_invitee_email=form.bind_invitee_email.data,
        name=form.name.data,
        description=form.description.data or "",
        brand_color=form.brand_color.data,
        logo_url=form.logo_url.data or "",
    )
