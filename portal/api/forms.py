"""Settings → API tokens: the creation form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.api.tokens import MAX_NAME, SCOPES
from portal.validation import PlainText


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
