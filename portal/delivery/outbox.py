"""Writing work for the worker. Call inside the transaction that causes the work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from portal.models import OutboxItem


def enqueue(
    session: Session,
    *,
    kind: str,
    topic: str,
    idempotency_key: str,
    payload: dict[str, Any],
    now: datetime,
    organization_id: int | None = None,
    invitation_id: int | None = None,
) -> OutboxItem:
    item = OutboxItem(
        kind=kind,
        topic=topic,
        idempotency_key=idempotency_key,
        payload=payload,
        organization_id=organization_id,
        invitation_id=invitation_id,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(item)
    return item


def enqueue_email(
    session: Session, topic: str, key: str, now: datetime, **payload: Any
) -> OutboxItem:
    """An e-mail rendered by the worker from `topic` and `payload` (ids, not copies of data)."""
    item = OutboxItem(**email_values(topic, key, now, **payload))
    session.add(item)
    return item


def email_values(topic: str, key: str, now: datetime, **payload: Any) -> dict[str, Any]:
    """The outbox row of enqueue_email, as values for enqueue_emails."""
    return {
        "kind": "email",
        "topic": topic,
        "idempotency_key": key,
        "payload": payload,
        "organization_id": payload.get("organization_id"),
        "invitation_id": payload.get("invitation_id"),
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue_emails(session: Session, values: Sequence[dict[str, Any]]) -> None:
    """Many e-mails of email_values in one executemany (a bulk job's chunk): no ORM object
    each, as the caller never reads them back."""
    if values:
        session.execute(insert(OutboxItem), values)
