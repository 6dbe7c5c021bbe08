"""Webhook endpoints and the events they receive (DESIGN §7).

`emit` writes one outbox row per subscribed endpoint inside the caller's transaction; the
worker signs and delivers them. Plain functions: no Flask, no commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from portal import sealing
from portal.audit import service as audit
from portal.delivery.outbox import enqueue
from portal.errors import Conflict, Invalid, NotFound
from portal.lookups import get_in_org
from portal.models import Member, OutboxItem, OutboxStatus, WebhookEndpoint, public_id
from portal.policy import may_manage_settings, require
from portal.validation import check_text
from portal.webhooks.urls import check_url

EVENT_TYPES = (
    "INVITE_INVITED",
    "INVITE_LINKED",
    "INVITE_EXPIRED",
    "INVITE_REVOKED",
    # Referral rewards (portal/rewards): a grant issued, held for review, clawed back.
    "REWARD_ISSUED",
    "REWARD_HELD",
    "REWARD_REVOKED",
    # Adhesion (portal/applications): an application made, approved, rejected.
    "APPLICATION_SUBMITTED",
    "APPLICATION_APPROVED",
    "APPLICATION_REJECTED",
    # Event guests (portal/events): invited by a member, accepted (or waiting), declined.
    "EVENT_GUEST_INVITED",
    "EVENT_GUEST_ACCEPTED",
    "EVENT_GUEST_DECLINED",
)
TEST_EVENT = "INVITE_TEST"


@dataclass(frozen=True)
class UrlRules:
    """Set from configuration by the caller (development allows http and local receivers)."""

    require_https: bool
    allow_private: bool


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean_types(event_types: list[str]) -> list[str]:
    chosen = [t for t in EVENT_TYPES if t in set(event_types)]
    if not chosen or len(chosen) != len(set(event_types)):
        raise Invalid("Choose at least one of the listed event types.", field="event_types")
    return chosen


def create_endpoint(
    session: Session,
    actor: Member,
    *,
    url: str,
    event_types: list[str],
    description: str,
    rules: UrlRules,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (the only time the secret is shown)."""
    require(may_manage_settings(actor))
    description = (description or "").strip()
    check_text(url, field="url", what="A webhook address")
    check_text(description, field="description", what="A description")
    if len(description) > 500:
        raise Invalid("The description can be at most 500 characters.", field="description")
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        organization_id=actor.organization_id,
        url=check_url(url, require_https=rules.require_https, allow_private=rules.allow_private),
        description=description,
        event_types=_clean_types(event_types),
        sealed_secret=sealing.seal(secret),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        actor,
        "webhook.created",
        _target(endpoint),
        after=audit.snapshot(endpoint, ("url", "description", "event_types", "enabled")),
        secrets=("secret",),
        now=now,
    )
    return endpoint, secret


def _target(endpoint: WebhookEndpoint) -> audit.Target:
    return audit.Target("webhook", endpoint.public_id, endpoint.url)


def get_endpoint(session: Session, actor: Member, endpoint_public_id: str) -> WebhookEndpoint:
    require(may_manage_settings(actor))
    return get_in_org(session, WebhookEndpoint, actor.organization_id, endpoint_public_id)


def list_endpoints(session: Session, actor: Member) -> list[WebhookEndpoint]:
    require(may_manage_settings(actor))
    return list(
        session.exec(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == actor.organization_id)
            .order_by(WebhookEndpoint.id)
        ).all()
    )


def roll_secret(session: Session, actor: Member, endpoint: WebhookEndpoint, now: datetime) -> str:
    require(may_manage_settings(actor))
    secret = _new_secret()
    endpoint.sealed_secret = sealing.seal(secret)
    endpoint.updated_at = now
    session.add(endpoint)
    audit.record(
        session, actor, "webhook.secret_rolled", _target(endpoint), secrets=("secret",), now=now
    )
    return secret


def set_enabled(
    session: Session, actor: Member, endpoint: WebhookEndpoint, enabled: bool, now: datetime
) -> None:
    require(may_manage_settings(actor))
    before = audit.snapshot(endpoint, _STATE)
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else "Disabled by an admin."
    endpoint.failing_since = None
    endpoint.updated_at = now
    session.add(endpoint)
    audit.record(
        session,
        actor,
        "webhook.enabled" if enabled else "webhook.disabled",
        _target(endpoint),
        before=before,
        after=audit.snapshot(endpoint, _STATE),
        now=now,
    )


_STATE = ("enabled", "disabled_reason")


def envelope(event_type: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": public_id("et"),
        "version": 1,
        "type": event_type,
        "createdAt": rfc3339(now),
        "data": data,
    }


def _enqueue_for(
    session: Session,
    endpoint_id: int,
    endpoint_public_id: str,
    organization_id: int,
    event: dict[str, Any],
    now: datetime,
) -> OutboxItem:
    item = enqueue(
        session,
        kind="webhook",
        topic=event["type"],
        idempotency_key=f"{event['id']}:{endpoint_public_id}",
        payload={"event": event},
        now=now,
        organization_id=organization_id,
    )
    item.endpoint_id = endpoint_id
    return item


def emit(
    session: Session, organization_id: int, event_type: str, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Queue `event_type` for every enabled endpoint of the organisation that subscribed."""
    event = envelope(event_type, data, now)
    # Only the columns an event needs: whole endpoints cost the worker as much as rendering
    # the e-mail whose delivery emits INVITE_INVITED (bench/delivery.py).
    subscribers = session.exec(
        select(WebhookEndpoint.id, WebhookEndpoint.public_id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.enabled
        )
    ).all()
    for endpoint_id, endpoint_public_id, event_types in subscribers:
        if event_type in event_types:
            _enqueue_for(session, endpoint_id, endpoint_public_id, organization_id, event, now)
    return event


def send_test_event(
    session: Session, actor: Member, endpoint: WebhookEndpoint, now: datetime
) -> OutboxItem:
    require(may_manage_settings(actor))
    event = envelope(
        TEST_EVENT,
        {"endpointId": endpoint.public_id, "message": "This is a test event from Member Portal."},
        now,
    )
    assert endpoint.id is not None
    return _enqueue_for(
        session, endpoint.id, endpoint.public_id, endpoint.organization_id, event, now
    )


def recent_deliveries(
    session: Session, endpoint: WebhookEndpoint, limit: int = 50, before: int | None = None
) -> list[OutboxItem]:
    statement = (
        select(OutboxItem)
        .where(OutboxItem.endpoint_id == endpoint.id)
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(OutboxItem.id < before)
    return list(session.exec(statement).all())


def retry_delivery(
    session: Session, actor: Member, endpoint: WebhookEndpoint, item_id: int, now: datetime
) -> OutboxItem:
    """Queue a failed delivery again by hand (same event id, so receivers still dedupe)."""
    require(may_manage_settings(actor))
    item = session.get(OutboxItem, item_id)
    if item is None or item.endpoint_id != endpoint.id:
        raise NotFound("There is no such delivery.")
    if item.status != OutboxStatus.FAILED:
        raise Conflict("Only failed deliveries can be retried; this one is still in progress.")
    item.status = OutboxStatus.QUEUED.value
    item.next_attempt_at = now
    item.created_at = now  # the retry deadline counts from the new queueing
    session.add(item)
    return item
