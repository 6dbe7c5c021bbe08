from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.email_templates.service import MAX_BODY, MAX_NAME, MAX_SUBJECT


class TemplateForm(FlaskForm):
    # Rules live in the service (and the sandbox); the form only carries the values.
    name = StringField("Name", render_kw={"maxlength": MAX_NAME})
    subject = StringField("Subject", render_kw={"maxlength": MAX_SUBJECT})
    body = TextAreaField("Message", render_kw={"maxlength": MAX_BODY, "rows": 16})
