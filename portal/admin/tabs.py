"""The Settings screens, in the order the tabs show them. A capability adds its screen here."""

from __future__ import annotations

from flask import current_app

SETTINGS_TABS = (
    ("Invitations", "admin.invitation_settings"),
    ("E-mail templates", "email_templates.index"),
    ("API tokens", "api_tokens.index"),
    ("Webhooks", "webhooks.index"),
    ("Delivery", "delivery.status"),
    ("Audit log", "audit.index"),
)


def settings_tabs() -> list[tuple[str, str]]:
    return [(label, ep) for label, ep in SETTINGS_TABS if ep in current_app.view_functions]
