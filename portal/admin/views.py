"""The settings screens (ADMIN_TENANT only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.admin.forms import InvitationSettingsForm
from portal.admin.service import InvitationSettingsInput, update_invitation_settings
from portal.clock import utcnow
from portal.db import get_session
from portal.models import InvitationSettings, Organization
from portal.orgs.service import settings_for
from portal.roles import Role
from portal.web.guards import admins_only
from portal.web.unit_of_work import submit

bp = Blueprint("admin", __name__, url_prefix="/admin")

bp.before_request(admins_only)


@bp.route("/settings/invitations", methods=["GET", "POST"])
def invitation_settings() -> ResponseReturnValue:
    session = get_session()
    org = session.get(Organization, current_user.organization_id)
    settings = settings_for(session, current_user.organization_id)
    form = InvitationSettingsForm(data=_form_data(org, settings))
    if form.validate_on_submit():
        values = _values(form)
        saved = submit(
            form, lambda: update_invitation_settings(session, current_user, values, utcnow())
        )
        if saved.ok:
            flash("Invitation settings saved.", "success")
            return redirect(url_for("admin.invitation_settings"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/invitation_settings.html", form=form), status


def _form_data(org: Organization | None, settings: InvitationSettings) -> dict[str, Any]:
    assert org is not None  # a signed-in member's organisation exists
    return {
        "enabled": settings.enabled,
        "min_inviter_role": settings.min_inviter_role,
        "expiry_days": settings.expiry_days,
        "max_validity_days": settings.max_validity_days,
        "daily_limit_per_member": settings.daily_limit_per_member,
        "bind_invitee_email": settings.bind_invitee_email,
        "name": org.name,
        "description": org.description,
        "brand_color": org.brand_color,
        "logo_url": org.logo_url,
    }


def _values(form: InvitationSettingsForm) -> InvitationSettingsInput:
    return InvitationSettingsInput(
        enabled=form.enabled.data,
        min_inviter_role=Role(form.min_inviter_role.data),
        expiry_days=form.expiry_days.data,
        max_validity_days=form.max_validity_days.data,
        daily_limit_per_member=form.daily_limit_per_member.data,
        bind_invitee_email=form.bind_invitee_email.data,
        name=form.name.data,
        description=form.description.data or "",
        brand_color=form.brand_color.data,
        logo_url=form.logo_url.data or "",
    )
