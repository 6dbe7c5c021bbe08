"""The registration form: the join form with the organisation's extra questions and, under
adhesion, "Why do you want to join?". Built per request from the questions; every rule
(required, length, the options) is the service's (questions.clean_answers), so the page,
the API and a form built from an older list of questions refuse alike."""

from __future__ import annotations

from typing import Any, TypeVar

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.applications.questions import (
    ANSWER_MAX,
    REASON_MAX,
    REASON_QUESTION,
    field_name,
)
from portal.join.forms import JoinForm
from portal.models import QuestionKind, RegistrationQuestion
from portal.validation import PlainText

# The account fields the questions follow: /join's JoinForm, or the event guest's join form
# (no e-mail field: the guest joins with the address the event's invitation reached).
AccountForm = TypeVar("AccountForm", bound=FlaskForm)


def _field(question: RegistrationQuestion) -> Field:
    kind = QuestionKind(question.kind)
    label = question.label if question.required else f"{question.label} (optional)"
    guard = PlainText("Your answer", multiline=kind is QuestionKind.LONG_TEXT)
    if kind is QuestionKind.CHECKBOX:
        return BooleanField(label)
    if kind is QuestionKind.CHOICE:
        choices = [SelectChoice("", "Choose…"), *(SelectChoice(o, o) for o in question.options)]
        # Not WTForms' own check: the service says which question and what to do.
        return SelectField(label, choices=choices, validators=[guard], validate_choice=False)
    if kind is QuestionKind.LONG_TEXT:
        return TextAreaField(
            label, validators=[guard], render_kw={"maxlength": ANSWER_MAX[kind], "rows": 4}
        )
    if kind is QuestionKind.DATE:
        return StringField(label, validators=[guard], render_kw={"type": "date"})
    return StringField(label, validators=[guard], render_kw={"maxlength": ANSWER_MAX[kind]})


def registration_form(
    questions: list[RegistrationQuestion],
    ask_reason: bool,
    reason_required: bool,
    base: type[AccountForm] = JoinForm,  # type: ignore[assignment]
    **kwargs: Any,
) -> AccountForm:
    """A `base` (JoinForm unless told) with one field per question (named by the question's
    public id) and the reason when asked. The template lists `form.extra_fields` after the
    account fields."""

    class RegistrationForm(base):  # type: ignore[valid-type,misc]
        pass

    names = []
    for question in questions:
        setattr(RegistrationForm, field_name(question), _field(question))
        names.append(field_name(question))
    if ask_reason:
        label = REASON_QUESTION if reason_required else f"{REASON_QUESTION} (optional)"
        RegistrationForm.reason = TextAreaField(  # type: ignore[attr-defined]
            label,
            validators=[PlainText("Your answer", multiline=True)],
            render_kw={"maxlength": REASON_MAX, "rows": 4},
        )
        names.append("reason")
    form = RegistrationForm(**kwargs)
    form.extra_fields = [form[name] for name in names]  # type: ignore[attr-defined]
    form.question_names = names[: len(questions)]  # type: ignore[attr-defined]
    return form


def raw_answers(form: FlaskForm) -> dict[str, Any]:
    return {name: form[name].data for name in getattr(form, "question_names", [])}


def reason_of(form: FlaskForm) -> str | None:
    return form["reason"].data if "reason" in form else None


class PlainForm(FlaskForm):
    """Only the CSRF token: the settings screen's move and remove buttons."""
