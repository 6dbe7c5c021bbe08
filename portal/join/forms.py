from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField


class JoinForm(FlaskForm):
    # Rules live in the invitation service (shared with the API's headless join).
    full_name = StringField("Full name", render_kw={"maxlength": 200, "autocomplete": "name"})
    email = EmailField("Email", render_kw={"autocomplete": "email"})
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
