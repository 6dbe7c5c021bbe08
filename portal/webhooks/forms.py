from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from portal.validation import PlainText
from portal.webhooks.service import EVENT_TYPES

EVENT_LABELS = {
    "INVITE_INVITED": "INVITE_INVITED — an invitation e-mail was delivered",
    "INVITE_LINKED": "INVITE_LINKED — an invitee joined",
    "INVITE_EXPIRED": "INVITE_EXPIRED — an invitation expired",
    "INVITE_REVOKED": "INVITE_REVOKED — an invitation was revoked",
}


class EndpointForm(FlaskForm):
    # Rules (https, public address, known events) live in the service; the form refuses
    # control characters up front.
    url = URLField("Endpoint URL", validators=[PlainText("A webhook address")])
    event_types = SelectMultipleField(
        "Events",
        choices=[SelectChoice(t, EVENT_LABELS[t]) for t in EVENT_TYPES],
        default=list(EVENT_TYPES),
        validators=[PlainText("An event type")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    description = StringField("Description (optional)", validators=[PlainText("A description")])
