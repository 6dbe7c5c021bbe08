from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField

from portal.invites.service import MAX_MESSAGE, MAX_NAME
from portal.validation import PlainText


class InviteForm(FlaskForm):
    # Rules live in the service (shared with the API); the form only carries the values and
    # refuses control characters up front.
    email = EmailField("Email", validators=[PlainText("An e-mail address")])
    full_name = StringField(
        "Full name", validators=[PlainText("A name")], render_kw={"maxlength": MAX_NAME}
    )
    message = TextAreaField(
        "Personal message",
        validators=[PlainText("The personal message", multiline=True)],
        render_kw={"maxlength": MAX_MESSAGE, "rows": 4},
    )
    # The e-mail's wording (a template's public id; "" = the default). Choices are set per
    # request, and only for those who may pick (see invites.views._invite_form).
    template_id = SelectField(
        "Template",
        choices=[],
        default="",
        validate_choice=False,
        validators=[PlainText("A template choice")],
    )
