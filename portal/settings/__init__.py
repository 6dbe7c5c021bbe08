"""Settings (/admin/settings/…): one blueprint that signs the member in, with one child
blueprint per screen, each with its own rule (portal.web.guards) and in the tabs' order."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from portal.settings import (
    api_tokens,
    audit,
    delivery,
    email_templates,
    invitations,
    leaderboard,
    membership,
    rewards,
    share_links,
    webhooks,
)
from portal.settings.tabs import SETTINGS_TABS
from portal.web.guards import signed_in

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")

bp.before_request(signed_in)

SCREENS = (
    invitations,
    share_links,
    membership,
    rewards,
    email_templates,
    leaderboard,
    api_tokens,
    webhooks,
    delivery,
    audit,
)
for screen in SCREENS:
    bp.register_blueprint(screen.bp)


@bp.context_processor
def inject_tabs() -> dict[str, Any]:
    """The tabs every screen shows (templates/admin/_tabs.html)."""
    return {"settings_tabs": SETTINGS_TABS}
