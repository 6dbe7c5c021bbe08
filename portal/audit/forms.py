"""Settings → Audit log: the filters (a GET form, so a filtered view is a link to share)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from portal.audit.service import ACTIONS
from portal.validation import PlainText


class DayField(DateField):
    """A date (YYYY-MM-DD, which browsers' date pickers send), refused in words."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a date such as 2026-03-14.") from exc


class ActionField(SelectField):
    def pre_validate(self, form: FlaskForm) -> None:
        if self.data and self.data not in ACTIONS:
            raise ValidationError("Choose an action from the list.")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # reading only; a filter link must work when shared

    action = ActionField(
        "Action",
        choices=[SelectChoice("", "Any action")]
        + [SelectChoice(name, label) for name, label in ACTIONS.items()],
        validators=[PlainText("An action"), Optional()],
    )
    actor = StringField(
        "Done by (e-mail)",
        validators=[
            PlainText("An address"),
            Optional(),
            Length(max=320, message="At most 320 characters."),
        ],
    )
    since = DayField("From", validators=[Optional()], format="%Y-%m-%d")
    until = DayField("To", validators=[Optional()], format="%Y-%m-%d")

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Choose an end date on or after the start date.")
