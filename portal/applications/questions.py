"""Settings → Membership's rules and the registration form's questions: the settings row,
adding, editing, reordering and removing questions, and checking a join's answers.
Plain functions (no Flask): the settings screen and the join pages share them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from portal.audit import service as audit
from portal.errors import Invalid
from portal.lookups import get_in_org
from portal.models import (
    MembershipSettings,
    QuestionKind,
    ReasonMode,
    RegistrationQuestion,
)
from portal.policy import may_manage_settings, require
from portal.roles import Role
from portal.validation import check_text

MAX_QUESTIONS = 30
MAX_OPTIONS = 30
LABEL_MAX = 200
OPTION_MAX = 100
REASON_MAX = 2000
# How long an answer may be, by kind (a choice is one of its options, a checkbox yes/no).
ANSWER_MAX = {QuestionKind.TEXT: 200, QuestionKind.LONG_TEXT: 2000, QuestionKind.DATE: 10}

KIND_LABELS = {
    QuestionKind.TEXT.value: "Text (one line)",
    QuestionKind.LONG_TEXT.value: "Long text",
    QuestionKind.CHOICE.value: "Choice (one of a list)",
    QuestionKind.CHECKBOX.value: "Checkbox",
    QuestionKind.DATE.value: "Date",
}
REASON_LABELS = {
    ReasonMode.OFF.value: "Don't ask",
    ReasonMode.OPTIONAL.value: "Ask, optional",
    ReasonMode.REQUIRED.value: "Ask, required",
}
REASON_QUESTION = "Why do you want to join?"


def settings_of(session: Session, organization_id: int) -> MembershipSettings:
    """The organisation's settings; the defaults (adhesion and registration off) until saved."""
    found = session.get(MembershipSettings, organization_id)
    return found if found is not None else MembershipSettings(organization_id=organization_id)


def update_settings(
    session: Session,
    actor: Any,
    *,
    approval_required: bool,
    waiver_min_role: str | None,
    open_registration: bool,
    reason_mode: str,
    now: datetime,
) -> MembershipSettings:
    require(may_manage_settings(actor))
    if waiver_min_role is not None and waiver_min_role not in Role.__members__:
        raise Invalid("Choose one of the listed levels.", field="waiver_min_role")
    if reason_mode not in REASON_LABELS:
        raise Invalid("Choose one of the listed options.", field="reason_mode")
    row = session.get(MembershipSettings, actor.organization_id)
    if row is None:
        row = MembershipSettings(organization_id=actor.organization_id)
    fields = ("approval_required", "waiver_min_role", "open_registration", "reason_mode")
    before = {name: getattr(row, name) for name in fields}
    row.approval_required = approval_required
    row.waiver_min_role = waiver_min_role
    row.open_registration = open_registration
    row.reason_mode = reason_mode
    row.updated_at = now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "settings.membership.updated",
        audit.Target("membership_settings", "membership", "Membership settings"),
        before=before,
        after={name: getattr(row, name) for name in fields},
        organization_id=actor.organization_id,
        now=now,
    )
    return row


def needs_approval(settings: MembershipSettings, sponsor_role: Role | None) -> bool:
    """Adhesion on, unless a sponsor at or above the waiver level invited the applicant."""
    if not settings.approval_required:
        return False
    if settings.waiver_min_role is None or sponsor_role is None:
        return True
    return sponsor_role.level < Role(settings.waiver_min_role).level


# --- questions -----------------------------------------------------------------------------


def questions_of(session: Session, organization_id: int) -> list[RegistrationQuestion]:
    return list(
        session.exec(
            select(RegistrationQuestion)
            .where(RegistrationQuestion.organization_id == organization_id)
            .order_by(col(RegistrationQuestion.position), col(RegistrationQuestion.id))
        ).all()
    )


@dataclass(frozen=True)
class QuestionValues:
    label: str
    kind: str
    required: bool
    options_text: str  # one option a line, for kind choice


def _clean(values: QuestionValues) -> tuple[str, str, list[str]]:
    label = values.label.strip()
    check_text(label, field="label", what="A question")
    if not label:
        raise Invalid("Write the question.", field="label")
    if len(label) > LABEL_MAX:
        raise Invalid(f"A question can be at most {LABEL_MAX} characters.", field="label")
    if values.kind not in KIND_LABELS:
        raise Invalid("Choose one of the listed kinds of answer.", field="kind")
    check_text(values.options_text, field="options", what="The options", multiline=True)
    options: list[str] = []
    if values.kind == QuestionKind.CHOICE:
        for line in values.options_text.splitlines():
            option = line.strip()
            if not option:
                continue
            if len(option) > OPTION_MAX:
                raise Invalid(
                    f"An option can be at most {OPTION_MAX} characters: “{option[:30]}…”.",
                    field="options",
                )
            if option in options:
                raise Invalid(f"“{option}” is listed twice.", field="options")
            options.append(option)
        if len(options) < 2:
            raise Invalid("A choice needs at least two options, one a line.", field="options")
        if len(options) > MAX_OPTIONS:
            raise Invalid(f"A choice can have at most {MAX_OPTIONS} options.", field="options")
    return label, values.kind, options


def _question_target(question: RegistrationQuestion) -> audit.Target:
    return audit.Target("registration_question", question.public_id, question.label)


def add_question(
    session: Session, actor: Any, values: QuestionValues, now: datetime
) -> RegistrationQuestion:
    require(may_manage_settings(actor))
    label, kind, options = _clean(values)
    org_id = actor.organization_id
    count, last = session.exec(
        select(func.count(), func.max(RegistrationQuestion.position)).where(
            RegistrationQuestion.organization_id == org_id
        )
    ).one()
    if count >= MAX_QUESTIONS:
        raise Invalid(f"The form can have at most {MAX_QUESTIONS} questions.", field="label")
    question = RegistrationQuestion(
        organization_id=org_id,
        label=label,
        kind=kind,
        required=values.required,
        options=options,
        position=(last or 0) + 1,
        created_at=now,
    )
    session.add(question)
    session.flush()
    audit.record(
        session,
        actor,
        "registration_question.added",
        _question_target(question),
        after={"label": label, "kind": kind, "required": values.required, "options": options},
        organization_id=org_id,
        now=now,
    )
    return question


def get_question(session: Session, actor: Any, public_id: str) -> RegistrationQuestion:
    return get_in_org(
        session,
        RegistrationQuestion,
        actor.organization_id,
        public_id,
        "That question isn't on the registration form (any more).",
    )


def edit_question(
    session: Session,
    actor: Any,
    question: RegistrationQuestion,
    values: QuestionValues,
    now: datetime,
) -> RegistrationQuestion:
    require(may_manage_settings(actor))
    label, kind, options = _clean(values)
    fields = ("label", "kind", "required", "options")
    before = {name: getattr(question, name) for name in fields}
    question.label, question.kind, question.required = label, kind, values.required
    question.options = options
    session.add(question)
    session.flush()
    audit.record(
        session,
        actor,
        "registration_question.edited",
        _question_target(question),
        before=before,
        after={name: getattr(question, name) for name in fields},
        organization_id=actor.organization_id,
        now=now,
    )
    return question


def move_question(
    session: Session, actor: Any, question: RegistrationQuestion, up: bool, now: datetime
) -> None:
    """Swap with the neighbour above (or below); at the end of the list, nothing moves."""
    require(may_manage_settings(actor))
    ordered = questions_of(session, actor.organization_id)
    index = next(i for i, q in enumerate(ordered) if q.id == question.id)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, row in enumerate(ordered, start=1):  # renumber: positions stay distinct
        if row.position != position:
            row.position = position
            session.add(row)
    session.flush()


def remove_question(
    session: Session, actor: Any, question: RegistrationQuestion, now: datetime
) -> None:
    """Past answers stay readable: applications keep a snapshot of each question they
    answered (label, kind, value), not a reference to it."""
    require(may_manage_settings(actor))
    audit.record(
        session,
        actor,
        "registration_question.removed",
        _question_target(question),
        before={"label": question.label, "kind": question.kind},
        after={},
        organization_id=actor.organization_id,
        now=now,
    )
    session.delete(question)
    session.flush()


# --- answers -------------------------------------------------------------------------------


def field_name(question: RegistrationQuestion) -> str:
    """The form field of a question: its public id, so reordering never mixes answers up."""
    return f"q_{question.public_id}"


def clean_answers(
    questions: list[RegistrationQuestion], raw: dict[str, Any]
) -> list[dict[str, Any]]:
    """The join's answers as stored, checked against today's questions. Every answer that is
    missing, too long, not among a choice's options or not a date is refused at once: an
    Invalid naming the first, with all of them in details["problems"] (by field), so the
    page shows each beside its question. `raw` maps a field name (field_name) to what the
    form or API sent: text, or a bool for a checkbox."""
    answers, problems = [], {}
    for question in questions:
        try:
            answers.append(_clean_one(question, raw.get(field_name(question))))
        except Invalid as refused:
            problems[field_name(question)] = [refused.message]
    if problems:
        first_field, [first] = next(iter(problems.items()))
        raise Invalid(first, field=first_field, problems=problems)
    return answers


def _clean_one(question: RegistrationQuestion, value: Any) -> dict[str, Any]:
    name, kind = field_name(question), QuestionKind(question.kind)
    if kind is QuestionKind.CHECKBOX:
        checked = value is True or value in ("y", "on", "true", "1")
        if question.required and not checked:
            raise Invalid(f"Tick “{question.label}” to join.", field=name)
        return _answer(question, checked)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"“{question.label}”: the answer must be text.", field=name)
    text = (value or "").strip()
    check_text(
        text, field=name, what=f"The answer to “{question.label}”",
        multiline=kind is QuestionKind.LONG_TEXT,
    )  # fmt: skip
    if not text:
        if question.required:
            raise Invalid(f"Answer “{question.label}”.", field=name)
        return _answer(question, "")
    if kind is QuestionKind.CHOICE:
        if text not in question.options:
            raise Invalid(f"“{question.label}”: choose one of the listed options.", field=name)
    elif kind is QuestionKind.DATE:
        try:
            date.fromisoformat(text)
        except ValueError:
            raise Invalid(f"“{question.label}”: give a date as YYYY-MM-DD.", field=name) from None
    elif len(text) > ANSWER_MAX[kind]:
        raise Invalid(
            f"The answer to “{question.label}” can be at most {ANSWER_MAX[kind]} characters.",
            field=name,
        )
    return _answer(question, text)


def _answer(question: RegistrationQuestion, value: str | bool) -> dict[str, Any]:
    return {
        "question_id": question.public_id,
        "label": question.label,
        "kind": question.kind,
        "value": value,
    }


def clean_reason(settings: MembershipSettings, reason: str | None) -> str:
    if settings.reason_mode == ReasonMode.OFF:
        return ""
    text = (reason or "").strip()
    check_text(text, field="reason", what="Your answer", multiline=True)
    if not text and settings.reason_mode == ReasonMode.REQUIRED:
        raise Invalid(f"Answer “{REASON_QUESTION}”.", field="reason")
    if len(text) > REASON_MAX:
        raise Invalid(f"Your answer can be at most {REASON_MAX} characters.", field="reason")
    return text
