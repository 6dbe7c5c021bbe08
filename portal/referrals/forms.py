from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from portal.referrals.service import MAX_LABEL
from portal.validation import PlainText


class NewLinkForm(FlaskForm):
    # The service checks the label's length and presence, with the same words.
    label = StringField(
        "Label", validators=[PlainText("A label")], render_kw={"maxlength": MAX_LABEL}
    )
    campaign = BooleanField("Campaign link")
