"""The API's periodic work for the outbox worker: forgetting old Idempotency-Key answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from portal.api import idempotency
from portal.delivery.registry import PeriodicJob, Registry
from portal.models import IdempotencyRecord


def purge_idempotency_records(session: Session, now: datetime) -> None:
    # Replayable API answers can carry a sealed link: keep them no longer than needed.
    session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - idempotency.WINDOW)
    )


def register(registry: Registry) -> None:
    registry.add_job(
        PeriodicJob("idempotency purge", "SWEEP_INTERVAL_SECONDS", purge_idempotency_records)
    )
