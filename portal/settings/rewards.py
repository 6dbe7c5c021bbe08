"""Settings → Referral rewards (ADMIN_TENANT): the rules (when → who → what, caps, hold,
active dates) and the benefits with their code pools. The rules are portal.rewards.service's;
the form only parses. A benefit whose pool ran out, with grants waiting for a code, is
flagged on this screen (the admins' warning)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.clock import utcnow
from portal.db import get_session
from portal.models import RewardKind, RewardRule, RewardTrigger
from portal.rewards import service as rewards
from portal.rewards.service import RewardInput, RuleInput
from portal.validation import PlainText
from portal.web.guards import admins_only
from portal.web.unit_of_work import or_flash, submit

bp = Blueprint("rewards", __name__, url_prefix="/rewards")

bp.before_request(admins_only)

TRIGGERS = {
    RewardTrigger.JOINED.value: "The invitee joins",
    RewardTrigger.ACTIVE_DAYS.value: "The invitee's first N days pass, still active",
    RewardTrigger.APPROVED.value: "The invitee's membership application is approved",
}
KINDS = {
    RewardKind.NONE.value: "Nothing",
    RewardKind.POINTS.value: "Points",
    RewardKind.BENEFIT.value: "A benefit",
    RewardKind.TIER.value: "A tier",
}


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


NOT_A_NUMBER = "Enter a whole number, or leave it empty."


def _number(label: str) -> IntegerField:
    return IntegerField(label, validators=[Optional()], render_kw={"inputmode": "numeric"})


class RuleForm(FlaskForm):
    name = StringField("Rule name", validators=[PlainText("A rule name")])
    trigger = SelectField("When", choices=_choices(TRIGGERS), validators=[PlainText("A trigger")])
    active_days = _number("Days the new member stays active")
    referrer_kind = SelectField(
        "The referrer gets", choices=_choices(KINDS), validators=[PlainText("A reward")]
    )
    referrer_points = _number("Referrer's points")
    referrer_benefit = SelectField(
        "Referrer's benefit",
        choices=[],
        validate_choice=False,  # the service says "There is no such benefit."
        validators=[PlainText("A benefit")],
    )
    referrer_tier = StringField("Referrer's tier", validators=[PlainText("A tier name")])
    referee_kind = SelectField(
        "The new member gets", choices=_choices(KINDS), validators=[PlainText("A reward")]
    )
    referee_points = _number("New member's points")
    referee_benefit = SelectField(
        "New member's benefit",
        choices=[],
        validate_choice=False,  # the service says "There is no such benefit."
        validators=[PlainText("A benefit")],
    )
    referee_tier = StringField("New member's tier", validators=[PlainText("A tier name")])
    monthly_cap = _number("Cap per referrer per month")
    yearly_cap = _number("Cap per referrer per year")
    hold_days = _number("Hold period (days)")
    active_from = DateField("Active from", validators=[Optional()])
    active_until = DateField("Active until", validators=[Optional()])


class BenefitForm(FlaskForm):
    benefit_name = StringField("Benefit name", validators=[PlainText("A benefit name")])
    description = StringField("Description (optional)", validators=[PlainText("A description")])
    codes = TextAreaField(
        "Codes (optional, one a line)", validators=[PlainText("The codes", multiline=True)]
    )


class CodesForm(FlaskForm):
    codes = TextAreaField(
        "Codes to add, one a line", validators=[PlainText("The codes", multiline=True)]
    )


def _fix_number_messages(form: FlaskForm) -> None:
    for field in form:
        # Only WTForms' own "Not a valid integer value"; the service's words stay.
        if isinstance(field, IntegerField) and field.process_errors:
            field.errors = [NOT_A_NUMBER]


def _benefit_choices(rows: list[rewards.BenefitRow]) -> list[SelectChoice]:
    return [SelectChoice("", "— choose —")] + [
        SelectChoice(r.benefit.public_id, r.benefit.name) for r in rows
    ]


def _page(
    rule_form: RuleForm | None = None,
    benefit_form: BenefitForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_session()
    benefits = rewards.list_benefits(session, current_user.organization_id)
    rule_form = rule_form or RuleForm(formdata=None)
    for select in (rule_form.referrer_benefit, rule_form.referee_benefit):
        select.choices = _benefit_choices(benefits)
    return render_template(
        "rewards/settings.html",
        rules=rewards.list_rules(session, current_user),
        benefits=benefits,
        benefit_names={r.benefit.id: r.benefit.name for r in benefits},
        rule_form=rule_form,
        benefit_form=benefit_form or BenefitForm(formdata=None),
        last_day=lambda end: (end - timedelta(days=1)).date(),  # active_until is exclusive
    ), status


@bp.route("")
def index() -> ResponseReturnValue:
    return _page()


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _rule_input(form: RuleForm) -> RuleInput:
    def reward(prefix: str) -> RewardInput:
        return RewardInput(
            kind=RewardKind(form[f"{prefix}_kind"].data),
            points=form[f"{prefix}_points"].data,
            benefit_public_id=form[f"{prefix}_benefit"].data or "",
            tier=form[f"{prefix}_tier"].data or "",
        )

    until = form.active_until.data
    return RuleInput(
        name=form.name.data or "",
        trigger=RewardTrigger(form.trigger.data),
        referrer=reward("referrer"),
        referee=reward("referee"),
        active_days=form.active_days.data,
        monthly_cap=form.monthly_cap.data,
        yearly_cap=form.yearly_cap.data,
        hold_days=form.hold_days.data,
        active_from=_start(form.active_from.data),
        # The end day is included: the rule stops at the start of the next day (UTC).
        active_until=_start(until + timedelta(days=1)) if until else None,
    )


@bp.route("/rules", methods=["POST"])
def create_rule() -> ResponseReturnValue:
    form = RuleForm()
    status = 422
    if form.validate_on_submit():
        created = submit(
            form,
            lambda: rewards.create_rule(get_session(), current_user, _rule_input(form), utcnow()),
        )
        if created.ok:
            flash(f"Rule “{created.value.name}” created.", "success")
            return redirect(url_for("settings.rewards.index"))
        status = created.status
    _fix_number_messages(form)
    return _page(rule_form=form, status=status)


@bp.route("/rules/<public_id>/edit", methods=["GET", "POST"])
def edit_rule(public_id: str) -> ResponseReturnValue:
    """The creation form, filled in with the rule, checked by the same service rules."""
    session = get_session()
    rule = rewards.get_rule(session, current_user, public_id)
    benefits = rewards.list_benefits(session, current_user.organization_id)
    form = RuleForm(data=_rule_data(rule, {r.benefit.id: r.benefit.public_id for r in benefits}))
    for select in (form.referrer_benefit, form.referee_benefit):
        select.choices = _benefit_choices(benefits)
    status = 200
    if form.validate_on_submit():
        saved = submit(
            form,
            lambda: rewards.update_rule(session, current_user, rule, _rule_input(form), utcnow()),
        )
        if saved.ok:
            flash(f"Rule “{rule.name}” saved.", "success")
            return redirect(url_for("settings.rewards.index"))
        status = saved.status
    elif request.method == "POST":
        status = 422
    _fix_number_messages(form)
    return render_template("rewards/edit_rule.html", rule=rule, form=form), status


def _rule_data(rule: RewardRule, benefit_ids: dict[int, str]) -> dict[str, object]:
    """The rule as the form's fields hold it (the inverse of _rule_input)."""
    data: dict[str, object] = {
        name: getattr(rule, name)
        for name in ("name", "trigger", "active_days", "monthly_cap", "yearly_cap")
    }
    for prefix in ("referrer", "referee"):
        data[f"{prefix}_kind"] = getattr(rule, f"{prefix}_kind")
        data[f"{prefix}_points"] = getattr(rule, f"{prefix}_points")
        data[f"{prefix}_benefit"] = benefit_ids.get(getattr(rule, f"{prefix}_benefit_id"), "")
        data[f"{prefix}_tier"] = getattr(rule, f"{prefix}_tier")
    data["hold_days"] = rule.hold_days or None
    data["active_from"] = rule.active_from.date() if rule.active_from else None
    # active_until is stored exclusive; the form shows the last day included.
    data["active_until"] = (
        (rule.active_until - timedelta(days=1)).date() if rule.active_until else None
    )
    return data


@bp.route("/rules/<public_id>/enabled", methods=["POST"])
def set_enabled(public_id: str) -> ResponseReturnValue:
    session = get_session()
    enabled = request.form.get("enabled") == "1"
    rule = rewards.get_rule(session, current_user, public_id)
    done = or_flash(
        lambda: rewards.set_rule_enabled(session, current_user, rule, enabled, utcnow())
    )
    if done.ok:
        flash(f"Rule “{rule.name}” switched {'on' if enabled else 'off'}.", "success")
    return redirect(url_for("settings.rewards.index"))


@bp.route("/benefits", methods=["POST"])
def create_benefit() -> ResponseReturnValue:
    form = BenefitForm()
    status = 422
    if form.validate_on_submit():
        created = submit(
            form,
            lambda: rewards.create_benefit(
                get_session(),
                current_user,
                name=form.benefit_name.data or "",
                description=form.description.data or "",
                codes=form.codes.data or "",
                now=utcnow(),
            ),
        )
        if created.ok:
            flash(f"Benefit “{created.value.name}” created.", "success")
            return redirect(url_for("settings.rewards.index"))
        status = created.status
    return _page(benefit_form=form, status=status)


@bp.route("/benefits/<public_id>/codes", methods=["GET", "POST"])
def add_codes(public_id: str) -> ResponseReturnValue:
    session = get_session()
    benefit = rewards.get_benefit(session, current_user, public_id)
    form = CodesForm()
    status = 200
    if form.validate_on_submit():
        added = submit(
            form,
            lambda: rewards.add_codes(
                session, current_user, benefit, form.codes.data or "", utcnow()
            ),
        )
        if added.ok:
            issued = added.value or 0
            flash(
                "Codes added."
                + (
                    f" {issued} waiting reward{'s' if issued != 1 else ''} issued."
                    if issued
                    else ""
                ),
                "success",
            )
            return redirect(url_for("settings.rewards.index"))
        status = added.status
    elif request.method == "POST":
        status = 422
    row = next(
        r
        for r in rewards.list_benefits(session, current_user.organization_id)
        if r.benefit.id == benefit.id
    )
    return render_template("rewards/codes.html", row=row, form=form), status
