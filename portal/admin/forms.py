from __future__ import annotations

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

from portal.admin.service import MAX_VALIDITY_DAYS, validity_problem
from portal.roles import INVITER_LEVEL_EXPLANATIONS, ROLE_ORDER


class InvitationSettingsForm(FlaskForm):
    enabled = BooleanField("Enable invitations")
    min_inviter_role = SelectField(
        "Who can send invitations",
        choices=[
            SelectChoice(r.value, f"{r.value} — {INVITER_LEVEL_EXPLANATIONS[r]}")
            for r in ROLE_ORDER
        ],
    )
    expiry_days = IntegerField(
        "Invitation expiry (days)",
        validators=[
            InputRequired("Enter a number of days."),
            NumberRange(1, 90, "Choose between 1 and 90 days."),
        ],
    )
    max_validity_days = IntegerField(
        "Longest an invitation can stay open (days)",
        validators=[
            InputRequired("Enter a number of days."),
            NumberRange(1, MAX_VALIDITY_DAYS, f"Choose at most {MAX_VALIDITY_DAYS} days."),
        ],
    )
    daily_limit_per_member = IntegerField(
        "Daily invitations per member",
        validators=[
            InputRequired("Enter a number of invitations."),
            NumberRange(1, 1000, "Choose between 1 and 1,000 invitations a day."),
        ],
    )
    bind_invitee_email = BooleanField("Invitees must register with the invited address")
    name = StringField(
        "Organisation name",
        validators=[
            DataRequired("Enter the organisation's name."),
            Length(max=120, message="At most 120 characters."),
        ],
    )
    description = TextAreaField(
        "Description", validators=[Length(max=2000, message="At most 2,000 characters.")]
    )
    brand_color = StringField(
        "Brand colour",
        validators=[
            DataRequired("Enter a colour such as #2f6f4f."),
            Regexp(r"^#[0-9a-fA-F]{6}$", message="Use a hex colour such as #2f6f4f."),
        ],
    )
    logo_url = URLField(
        "Logo URL",
        validators=[
            Optional(),
            Length(max=500, message="At most 500 characters."),
            URL(
                require_tld=False,
                message="Enter a full address such as https://example.org/logo.png.",
            ),
            Regexp(r"^https?://", message="The logo address must start with https://."),
        ],
    )

    def validate_max_validity_days(self, field: IntegerField) -> None:
        # The same rule as the service, next to the field.
        if (problem := validity_problem(self.expiry_days.data, field.data)) is not None:
            raise ValidationError(problem)
