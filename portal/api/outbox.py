"""The API's periodic work for the outbox worker: forgetting old Idempotency-Key answers."""

from __future__ import annotations

from portal.api import idempotency
from portal.delivery.registry import PeriodicJob, Registry


def register(registry: Registry) -> None:
    registry.add_job(PeriodicJob("idempotency purge", "SWEEP_INTERVAL_SECONDS", idempotency.purge))
