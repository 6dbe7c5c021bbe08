"""How bulk jobs plug into the outbox worker: a channel whose items are chunks of a job's
rows (each sent in the item's own transaction), and the purge of unsent previews."""

from __future__ import annotations

from flask import Flask
from sqlmodel import Session

from portal.bulk import service
from portal.clock import utcnow
from portal.delivery.registry import PeriodicJob, Registry
from portal.delivery.smtp import reach
from portal.models import OutboxItem


class ChunkSender:
    """Processes one chunk per outbox item. The worker records the item as done and commits
    in the same transaction as the chunk's rows, invitations and e-mails: all or none."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.size = int(app.config.get("BULK_CHUNK_SIZE", service.CHUNK_SIZE))

    def send(self, session: Session, item: OutboxItem) -> int | None:
        service.process_chunk(
            session, item.payload["job_id"], utcnow(), size=self.size, reach=reach(self.app)
        )
        return None

    def close(self) -> None:
        pass


def register(registry: Registry) -> None:
    registry.add_sender("bulk", ChunkSender)
    registry.add_job(PeriodicJob("bulk previews", "SWEEP_INTERVAL_SECONDS", service.purge_previews))
