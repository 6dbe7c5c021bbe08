from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.email_templates.service import MAX_BODY, MAX_NAME, MAX_SUBJECT
from portal.validation import PlainText


class TemplateForm(FlaskForm):
    # Rules live in the service (and the sandbox); the form only carries the values and
    # refuses control characters up front.
    name = StringField(
        "Name", validators=[PlainText("A template name")], render_kw={"maxlength": MAX_NAME}
    )
    subject = StringField(
        "Subject", validators=[PlainText("The subject")], render_kw={"maxlength": MAX_SUBJECT}
    )
    body = TextAreaField(
        "Message",
        validators=[PlainText("The message", multiline=True)],
        render_kw={"maxlength": MAX_BODY, "rows": 16},
    )
