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

from portal.admin.service import (
    BRAND_COLOR,
    MAX_DESCRIPTION,
    MAX_LOGO_URL,
    MAX_NAME,
    MAX_VALIDITY_DAYS,
    validity_problem,
)
from portal.roles import INVITER_LEVEL_EXPLANATIONS, ROLE_ORDER
from portal.validation import PlainText


class InvitationSettingsForm(FlaskForm):
    enabled = BooleanField("Enable invitations")
    min_inviter_role = SelectField(
        "Who can send invitations",
        validators=[PlainText("The level who can send invitations")],
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
