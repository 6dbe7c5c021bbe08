"""Webhook calls as an outbox kind: sent by WebhookChannel, and an endpoint's health kept
from their outcomes (a streak of failures long enough switches it off)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import Flask
from sqlmodel import Session, col, select

from portal.audit import service as audit
from portal.delivery.errors import DeliveryFailed
from portal.delivery.registry import MessageKind, Registry
from portal.models import OutboxItem, WebhookEndpoint
from portal.webhooks.channel import WebhookChannel


def _endpoints(session: Session, items: Sequence[OutboxItem]) -> list[WebhookEndpoint]:
    """The batch's endpoints in one query; held by the worker, so the hooks' lookups of them
    need none (the channel still reads each afresh before calling it)."""
    ids = {item.endpoint_id for item in items if item.endpoint_id is not None}
    if not ids:
        return []
    found = session.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(ids)))
    return list(found.all())


def _delivered(app: Flask, session: Session, item: OutboxItem, now: datetime) -> None:
    endpoint = session.get(WebhookEndpoint, item.endpoint_id)
    if endpoint is not None and endpoint.failing_since is not None:
        endpoint.failing_since = None  # the failing streak is over
        session.add(endpoint)


def _failed(
    app: Flask, session: Session, item: OutboxItem, exc: DeliveryFailed, now: datetime
) -> None:
    """An endpoint failing without a break for WEBHOOK_DISABLE_AFTER_HOURS is switched off."""
    endpoint = session.get(WebhookEndpoint, item.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return
    disable_after = timedelta(hours=app.config["WEBHOOK_DISABLE_AFTER_HOURS"])
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= disable_after:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"Disabled automatically: every delivery has failed since "
            f"{endpoint.failing_since:%d %b %Y %H:%M} UTC. Last error: {exc.message}"
        )[:500]
        audit.record(
            session,
            None,
            "webhook.disabled",
            audit.Target("webhook", endpoint.public_id, endpoint.url),
            before={"enabled": True, "disabled_reason": ""},
            after={"enabled": False, "disabled_reason": endpoint.disabled_reason},
            organization_id=endpoint.organization_id,
            now=now,
        )
    session.add(endpoint)


def register(registry: Registry) -> None:
    registry.add_sender("webhook", WebhookChannel)
    registry.add_kind(
        MessageKind(
            channel="webhook",
            prepare=_endpoints,
            on_delivered=_delivered,
            on_failed=_failed,
            on_gave_up=_failed,
        )
    )
