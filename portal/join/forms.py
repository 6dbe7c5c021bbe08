from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField

from portal.validation import PlainText


class JoinForm(FlaskForm):
    # Rules live in the invitation service (shared with the API's headless join); the form
    # refuses control characters up front.
    full_name = StringField(
        "Full name",
        validators=[PlainText("A name")],
        render_kw={"maxlength": 200, "autocomplete": "name"},
    )
    email = EmailField(
        "Email", validators=[PlainText("An e-mail address")], render_kw={"autocomplete": "email"}
    )
    # A new password: an invisible line break pasted with it would make it one nobody can
    # type at login.
    password = PasswordField(
        "Password",
        validators=[PlainText("A password")],
        render_kw={"autocomplete": "new-password"},
    )
