"""How the outbox is doing: for the Delivery settings page and `portal outbox status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, select

from portal.models import OutboxItem, OutboxStatus

KINDS = ("email", "webhook")


@dataclass(frozen=True)
class KindStatus:
    kind: str
    queued: int = 0  # waiting for a first attempt
    retrying: int = 0  # failed at least once, will try again
    failed: int = 0  # gave up
    sent: int = 0
    oldest_waiting: timedelta | None = None  # age of the oldest queued or retrying item


def outbox_status(
    session: Session, now: datetime, organization_id: int | None = None
) -> list[KindStatus]:
    """One query, served by ix_outbox_kind_status."""
    state = case(
        (OutboxItem.status != OutboxStatus.QUEUED, OutboxItem.status),
        (OutboxItem.attempts > 0, "retrying"),
        else_="queued",
    )
    statement = select(OutboxItem.kind, state, func.count(), func.min(OutboxItem.created_at))
    if organization_id is not None:
        statement = statement.where(OutboxItem.organization_id == organization_id)
    rows = session.exec(statement.group_by(OutboxItem.kind, state)).all()
    found: dict[str, dict[str, object]] = {kind: {} for kind in KINDS}
    oldest: dict[str, datetime] = {}
    for kind, name, count, first in rows:
        found.setdefault(kind, {})[name] = count
        if name in ("queued", "retrying") and first is not None:
            oldest[kind] = min(oldest.get(kind, first), first)
    return [
        KindStatus(
            kind=kind,
            queued=int(counts.get("queued", 0)),
            retrying=int(counts.get("retrying", 0)),
            failed=int(counts.get("failed", 0)),
            sent=int(counts.get("sent", 0)),
            oldest_waiting=(now - oldest[kind]) if kind in oldest else None,
        )
        for kind, counts in found.items()
    ]


def human_age(age: timedelta | None) -> str:
    if age is None:
        return "—"
    seconds = int(age.total_seconds())
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
