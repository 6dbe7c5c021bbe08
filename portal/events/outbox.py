"""How events plug into the outbox: the guests' e-mails as message kinds."""

from __future__ import annotations

from portal.delivery.registry import MessageKind, Registry
from portal.events.mail import SUBJECTS, render_event_email


def register(registry: Registry) -> None:
    for topic in SUBJECTS:
        registry.add_kind(MessageKind(channel="email", topic=topic, render=render_event_email))
