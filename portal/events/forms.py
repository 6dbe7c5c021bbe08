from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from portal.events import service as events
from portal.validation import PlainText


class EventForm(FlaskForm):
    # The service checks every rule (times, zone, numbers) with the same words; the form
    # carries the values and refuses control characters up front.
    title = StringField(
        "Title", validators=[PlainText("A title")], render_kw={"maxlength": events.MAX_TITLE}
    )
    starts_at = StringField(
        "Starts", validators=[PlainText("A time")], render_kw={"type": "datetime-local"}
    )
    ends_at = StringField(
        "Ends", validators=[PlainText("A time")], render_kw={"type": "datetime-local"}
    )
    timezone = SelectField(
        "Time zone", choices=[], validate_choice=False, validators=[PlainText("A time zone")]
    )
    place = StringField(
        "Place", validators=[PlainText("The place")], render_kw={"maxlength": events.MAX_PLACE}
    )
    online_url = StringField(
        "Online link",
        validators=[PlainText("The online link")],
        render_kw={"maxlength": events.MAX_URL, "type": "url"},
    )
    description = TextAreaField(
        "Description",
        validators=[PlainText("The description", multiline=True)],
        render_kw={"maxlength": events.MAX_DESCRIPTION, "rows": 5},
    )
    capacity = IntegerField("Capacity (places for guests)", validators=[Optional()])
    guests_per_member = IntegerField("Guests each member may invite", validators=[Optional()])

    def to_input(self) -> events.EventInput:
        return events.EventInput(
            title=self.title.data or "",
            starts_local=self.starts_at.data or "",
            ends_local=self.ends_at.data or "",
            timezone=self.timezone.data or "",
            place=self.place.data or "",
            online_url=self.online_url.data or "",
            description=self.description.data or "",
            capacity=self.capacity.data,
            guests_per_member=self.guests_per_member.data,
        )


class GuestForm(FlaskForm):
    email = EmailField("Email", validators=[PlainText("An e-mail address")])
    full_name = StringField(
        "Full name", validators=[PlainText("A name")], render_kw={"maxlength": events.MAX_NAME}
    )
    message = TextAreaField(
        "Message",
        validators=[PlainText("The personal message", multiline=True)],
        render_kw={"maxlength": events.MAX_MESSAGE, "rows": 3},
    )


class AnswerForm(FlaskForm):
    full_name = StringField(
        "Full name", validators=[PlainText("A name")], render_kw={"maxlength": events.MAX_NAME}
    )
    email = EmailField("Email", validators=[PlainText("An e-mail address")])


class GuestJoinForm(FlaskForm):
    # The account fields only: the page builds it through portal.web.joining.join_form, which
    # adds the organisation's registration questions and, under adhesion, the reason. The
    # invitation service checks the name and password (shared with every join).
    full_name = StringField(
        "Full name",
        validators=[PlainText("A name")],
        render_kw={"maxlength": events.MAX_NAME, "autocomplete": "name"},
    )
    # A new password: an invisible line break pasted with it would make it one nobody can
    # type at login.
    password = PasswordField(
        "Password",
        validators=[PlainText("A password")],
        render_kw={"autocomplete": "new-password"},
    )
