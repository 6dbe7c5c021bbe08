"""Settings → Membership (ADMIN_TENANT only): adhesion (new members must be approved, and
whose invitees are waived), open registration at /register, and the registration form's
extra questions (add, edit, move up or down, remove)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.applications import questions
from portal.applications.forms import PlainForm
from portal.clock import utcnow
from portal.db import get_session
from portal.roles import ROLE_ORDER
from portal.validation import PlainText
from portal.web.guards import admins_only
from portal.web.unit_of_work import or_flash, submit

bp = Blueprint("membership", __name__, url_prefix="/membership")

bp.before_request(admins_only)

NO_WAIVER = ""


class MembershipSettingsForm(FlaskForm):
    approval_required = BooleanField("New members must be approved")
    waiver_min_role = SelectField(
        "No approval needed for people invited by",
        validators=[PlainText("The sponsor level")],
        choices=[
            SelectChoice(NO_WAIVER, "Nobody: everyone needs approval"),
            *(SelectChoice(role.value, f"{role.label} and above") for role in ROLE_ORDER),
        ],
        validate_choice=False,  # the service says "Choose one of the listed levels."
    )
    reason_mode = SelectField(
        "Ask applicants “Why do you want to join?”",
        validators=[PlainText("The option")],
        choices=[SelectChoice(v, label) for v, label in questions.REASON_LABELS.items()],
        validate_choice=False,
    )
    open_registration = BooleanField("Open registration (join without an invitation, at /register)")


class QuestionForm(FlaskForm):
    label = StringField(
        "Question", validators=[PlainText("A question")], render_kw={"maxlength": 200}
    )
    kind = SelectField(
        "Kind of answer",
        validators=[PlainText("The kind of answer")],
        choices=[SelectChoice(v, label) for v, label in questions.KIND_LABELS.items()],
        validate_choice=False,
    )
    required = BooleanField("Required")
    options = TextAreaField(
        "Options (for a choice: one a line)",
        validators=[PlainText("The options", multiline=True)],
        render_kw={"rows": 3},
    )


def _values(form: QuestionForm) -> questions.QuestionValues:
    return questions.QuestionValues(
        label=form.label.data or "",
        kind=form.kind.data or "",
        required=bool(form.required.data),
        options_text=form.options.data or "",
    )


def _page(
    settings_form: MembershipSettingsForm, question_form: QuestionForm, status: int
) -> ResponseReturnValue:
    return render_template(
        "admin/membership_settings.html",
        form=settings_form,
        question_form=question_form,
        questions=questions.questions_of(get_session(), current_user.organization_id),
        kind_labels=questions.KIND_LABELS,
        plain=PlainForm(),
    ), status


def _back() -> ResponseReturnValue:
    return redirect(url_for("settings.membership.index") + "#questions")


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    current = questions.settings_of(session, current_user.organization_id)
    form = MembershipSettingsForm(
        data={
            "approval_required": current.approval_required,
            "waiver_min_role": current.waiver_min_role or NO_WAIVER,
            "reason_mode": current.reason_mode,
            "open_registration": current.open_registration,
        }
    )
    if form.validate_on_submit():
        saved = submit(
            form,
            lambda: questions.update_settings(
                session,
                current_user,
                approval_required=bool(form.approval_required.data),
                waiver_min_role=form.waiver_min_role.data or None,
                open_registration=bool(form.open_registration.data),
                reason_mode=form.reason_mode.data or "",
                now=utcnow(),
            ),
        )
        if saved.ok:
            flash("Membership settings saved.", "success")
            return redirect(url_for("settings.membership.index"))
    status = 422 if form.errors or form.form_errors else 200
    return _page(form, QuestionForm(formdata=None), status)


@bp.route("/questions", methods=["POST"])
def add_question() -> ResponseReturnValue:
    form = QuestionForm()
    if form.validate_on_submit():
        added = submit(
            form,
            lambda: questions.add_question(get_session(), current_user, _values(form), utcnow()),
        )
        if added.ok:
            flash("Question added to the registration form.", "success")
            return _back()
        status = added.status
    else:
        status = 422
    return _page(MembershipSettingsForm(formdata=None, data=_settings_data()), form, status)


def _settings_data() -> dict[str, object]:
    current = questions.settings_of(get_session(), current_user.organization_id)
    return {
        "approval_required": current.approval_required,
        "waiver_min_role": current.waiver_min_role or NO_WAIVER,
        "reason_mode": current.reason_mode,
        "open_registration": current.open_registration,
    }


@bp.route("/questions/<public_id>", methods=["GET", "POST"])
def edit_question(public_id: str) -> ResponseReturnValue:
    session = get_session()
    question = questions.get_question(session, current_user, public_id)
    form = QuestionForm(
        data={
            "label": question.label,
            "kind": question.kind,
            "required": question.required,
            "options": "\n".join(question.options),
        }
    )
    status = 200
    if form.validate_on_submit():
        edited = submit(
            form,
            lambda: questions.edit_question(
                session, current_user, question, _values(form), utcnow()
            ),
        )
        if edited.ok:
            flash("Question saved.", "success")
            return _back()
        status = edited.status
        session.refresh(question)
    elif request.method == "POST":
        status = 422
    return render_template("admin/membership_question.html", form=form, question=question), status


@bp.route("/questions/<public_id>/move", methods=["POST"])
def move_question(public_id: str) -> ResponseReturnValue:
    session = get_session()
    question = questions.get_question(session, current_user, public_id)
    if PlainForm().validate_on_submit():
        up = request.form.get("direction") != "down"
        or_flash(lambda: questions.move_question(session, current_user, question, up, utcnow()))
    return _back()


@bp.route("/questions/<public_id>/remove", methods=["POST"])
def remove_question(public_id: str) -> ResponseReturnValue:
    session = get_session()
    question = questions.get_question(session, current_user, public_id)
    if (
        PlainForm().validate_on_submit()
        and or_flash(
            lambda: questions.remove_question(session, current_user, question, utcnow())
        ).ok
    ):
        flash("Question removed. Answers already given stay on their applications.", "success")
    return _back()
