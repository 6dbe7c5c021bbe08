"""The signed-in member's organisation, loaded once per request for every blueprint."""

from __future__ import annotations

from flask import g
from flask_login import current_user

from portal.db import get_session
from portal.models import InvitationSettings, Organization
from portal.orgs.service import organisation_and_settings


def current_org() -> tuple[Organization | None, InvitationSettings | None]:
    """The signed-in member's organisation and its settings, loaded once per request."""
    if "current_org" not in g:
        if current_user.is_authenticated:
            g.current_org, g.current_settings = organisation_and_settings(
                get_session(), current_user.organization_id
            )
        else:
            g.current_org, g.current_settings = None, None
    return g.current_org, g.current_settings
