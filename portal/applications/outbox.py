"""How applications plug in: the decision e-mail as an outbox kind."""

from __future__ import annotations

from portal.applications.mail import render_decision_email
from portal.delivery.registry import MessageKind, Registry


def register(registry: Registry) -> None:
    registry.add_kind(
        MessageKind(channel="email", topic="application_decided", render=render_decision_email)
    )
