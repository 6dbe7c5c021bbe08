"""The Settings screens, in the order the tabs show them. A new screen adds itself here."""

from __future__ import annotations

SETTINGS_TABS = (
    ("Invitations", "settings.invitations.index"),
    ("Share links", "settings.share_links.index"),
    ("Membership", "settings.membership.index"),
    ("Referral rewards", "settings.rewards.index"),
    ("E-mail templates", "settings.email_templates.index"),
    ("Leaderboard", "settings.leaderboard.index"),
    ("API tokens", "settings.api_tokens.index"),
    ("Webhooks", "settings.webhooks.index"),
    ("Delivery", "settings.delivery.index"),
    ("Audit log", "settings.audit.index"),
)
