from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from portal.validation import PlainText


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            PlainText("An e-mail address"),
            DataRequired("Enter your e-mail address."),
            Length(max=320, message="That e-mail address is too long."),
        ],
    )
    # No PlainText here: a password is only compared with a hash, never stored or shown,
    # and refusing characters at login could lock out a member whose password has them.
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Enter your password."),
            Length(max=1024, message="That password is too long."),
        ],
    )
