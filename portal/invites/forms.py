from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from portal.invites.service import MAX_MESSAGE, MAX_NAME
from portal.validation import PlainText

# Addresses one send form takes at once: more than a handful belongs in a bulk upload.
MAX_AT_ONCE = 50


class InviteForm(FlaskForm):
    # Rules live in the service (shared with the API); the form only carries the values and
    # refuses control characters up front.
    # A text area: several addresses may be pasted one per line (see views.send).
    email = TextAreaField(
        "Email",
        validators=[PlainText("The e-mail addresses", multiline=True)],
        render_kw={"rows": 2},
    )
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
