"""Settings → E-mail templates (ADMIN_TENANT only): the list, the editor with its live
preview, and the buttons that duplicate, delete and choose the default."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.clock import utcnow
from portal.db import get_session
from portal.email_templates import service
from portal.email_templates.sandbox import FILTERS
from portal.errors import DomainError
from portal.invites.preview import SAMPLE_INVITEE, render_preview
from portal.models import EmailTemplate, Organization
from portal.orgs.service import settings_for
from portal.validation import PlainText
from portal.web.guards import admins_only
from portal.web.unit_of_work import commit, submit

bp = Blueprint("email_templates", __name__, url_prefix="/email-templates")

FIELD_LABELS = {"name": "Name", "subject": "Subject", "body": "Message"}
PLACEHOLDER_HELP = (
    ("inviter_name", "the name of the member who sends the invitation"),
    ("invitee_name", "the invited person's name, when the inviter gave one"),
    ("organization_name", "your organisation's name"),
    ("organization_description", "your organisation's description (Settings → Invitations)"),
    ("personal_message", "the inviter's personal message, if they wrote one"),
    ("join_url", "the link to join (the Join button is added below your text anyway)"),
    ("expires_on", "the date the invitation expires, such as 14 March 2026"),
)

bp.before_request(admins_only)


class TemplateForm(FlaskForm):
    # Rules live in the service (and the sandbox); the form only carries the values and
    # refuses control characters up front.
    name = StringField(
        "Name", validators=[PlainText("A template name")], render_kw={"maxlength": service.MAX_NAME}
    )
    subject = StringField(
        "Subject",
        validators=[PlainText("The subject")],
        render_kw={"maxlength": service.MAX_SUBJECT},
    )
    body = TextAreaField(
        "Message",
        validators=[PlainText("The message", multiline=True)],
        render_kw={"maxlength": service.MAX_BODY, "rows": 16},
    )


@bp.route("")
def index() -> ResponseReturnValue:
    templates = service.list_templates(get_session(), current_user.organization_id)
    return render_template(
        "email_templates/index.html", templates=templates, default=service.pick_default(templates)
    )


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = TemplateForm(data={"subject": service.STARTER_SUBJECT, "body": service.STARTER_BODY})
    saving = _wants_save(form)
    status = _status(form)
    if saving:
        values = _values(form)
        created = submit(
            form, lambda: service.create(get_session(), current_user, values, utcnow())
        )
        if created.ok:
            flash(f"Template “{created.value.name}” created.", "success")
            return redirect(url_for("settings.email_templates.index"))
        status = created.status
    return _editor(form, None, status)


@bp.route("/<public_id>", methods=["GET", "POST"])
def edit(public_id: str) -> ResponseReturnValue:
    session = get_session()
    template = service.get(session, current_user, public_id)
    form = TemplateForm(obj=template)
    saving = _wants_save(form)
    status = _status(form)
    if saving:
        values = _values(form)
        saved = submit(
            form,
            lambda: service.update_template(session, current_user, template, values, utcnow()),
        )
        if saved.ok:
            flash(f"Template “{template.name}” saved.", "success")
            return redirect(url_for("settings.email_templates.index"))
        status = saved.status
    return _editor(form, template, status)


@bp.route("/preview", methods=["POST"])
def preview() -> ResponseReturnValue:
    """The editor's live preview (htmx, as the admin types). Problems show instead of the
    e-mail, with the same messages saving would give."""
    form = TemplateForm()
    return render_template("email_templates/_preview.html", **_preview_context(form))


@bp.route("/<public_id>/duplicate", methods=["POST"])
def duplicate(public_id: str) -> ResponseReturnValue:
    session = get_session()
    template = service.get(session, current_user, public_id)
    copy = service.duplicate(session, current_user, template, utcnow())
    session.commit()
    flash(f"Copied “{template.name}” as “{copy.name}”.", "success")
    return redirect(url_for("settings.email_templates.edit", public_id=copy.public_id))


@bp.route("/<public_id>/default", methods=["POST"])
def make_default(public_id: str) -> ResponseReturnValue:
    session = get_session()
    template = service.get(session, current_user, public_id)
    name = template.name
    try:
        commit(lambda: service.set_default(session, current_user, template, utcnow()))
    except DomainError as error:
        return _default_refused(error)
    flash(f"Invitations now use “{name}” unless the sender picks another.", "success")
    return redirect(url_for("settings.email_templates.index"))


@bp.route("/built-in/default", methods=["POST"])
def use_builtin() -> ResponseReturnValue:
    try:
        commit(lambda: service.set_default(get_session(), current_user, None, utcnow()))
    except DomainError as error:
        return _default_refused(error)
    flash("Invitations now use the built-in e-mail unless the sender picks a template.", "success")
    return redirect(url_for("settings.email_templates.index"))


def _default_refused(error: DomainError) -> ResponseReturnValue:
    """The list as it now stands (the winner's default), with why ours didn't happen."""
    flash(error.message, "error")
    templates = service.list_templates(get_session(), current_user.organization_id)
    return render_template(
        "email_templates/index.html", templates=templates, default=service.pick_default(templates)
    ), error.status


@bp.route("/<public_id>/delete", methods=["GET", "POST"])
def delete(public_id: str) -> ResponseReturnValue:
    """GET asks (a page of its own, so it works without JavaScript); POST deletes."""
    session = get_session()
    template = service.get(session, current_user, public_id)
    if request.method == "GET":
        return render_template("email_templates/confirm_delete.html", template=template)
    name = template.name
    service.delete(session, current_user, template, utcnow())
    session.commit()
    flash(f"Template “{name}” deleted.", "success")
    return redirect(url_for("settings.email_templates.index"))


# --- helpers ------------------------------------------------------------------------------


def _wants_save(form: TemplateForm) -> bool:
    """A POST saves, except "Update preview" (the preview without JavaScript)."""
    return form.validate_on_submit() and request.form.get("action") != "preview"


def _status(form: TemplateForm) -> int:
    """422 when the form itself refused a field (a control character); CSRF failures are
    400 before any view runs."""
    return 422 if form.errors else 200


def _values(form: TemplateForm) -> service.TemplateInput:
    return service.TemplateInput(
        name=form.name.data or "", subject=form.subject.data or "", body=form.body.data or ""
    )


def _preview_context(form: TemplateForm) -> dict[str, Any]:
    subject, body = form.subject.data or "", form.body.data or ""
    problems = service.content_problems(subject, body)
    email = None
    if not problems:
        session = get_session()
        org = session.get(Organization, current_user.organization_id)
        assert org is not None
        email = render_preview(
            current_app.jinja_env,
            org,
            current_user,
            subject,
            body,
            base_url=current_app.config["PORTAL_BASE_URL"],
            expiry_days=settings_for(session, org.id).expiry_days,
            now=utcnow(),
        )
    return {
        "problems": problems,
        "email": email,
        "field_labels": FIELD_LABELS,
        "sample_invitee": SAMPLE_INVITEE,
    }


def _editor(form: TemplateForm, template: EmailTemplate | None, status: int) -> ResponseReturnValue:
    return render_template(
        "email_templates/edit.html",
        form=form,
        template=template,
        placeholders=PLACEHOLDER_HELP,
        filters=FILTERS,
        **_preview_context(form),
    ), status
