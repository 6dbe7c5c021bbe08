from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField

from portal.invites.service import MAX_MESSAGE, MAX_NAME


class InviteForm(FlaskForm):
    # Rules live in the service (shared with the API); the form only carries the values.
    email = EmailField("Email")
    full_name = StringField("Full name", render_kw={"maxlength": MAX_NAME})
    message = TextAreaField("Personal message", render_kw={"maxlength": MAX_MESSAGE, "rows": 4})
