"""Reading the audit log for the settings page and the API: one query a page, none per row,
newest first, keyset-paginated on id (every filter has an index that ends in id)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from portal.errors import Invalid
from portal.lookups import find_in_org
from portal.models import AuditEvent, Member

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
_CURSOR_PREFIX = "ae"


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor_id: int | None = None  # the member's internal id
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_public_id: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    # Opaque, as the invitations list's: clients pass it back and never build one.
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != _CURSOR_PREFIX or not (number.isascii() and number.isdigit()):
            raise ValueError(raw)
        if len(number) > 18:  # beyond a BIGINT
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid(
            "This cursor isn't one the portal gave out. Pass nextCursor back unchanged.",
            field="cursor",
        ) from exc


def list_events(
    session: Session,
    organization_id: int,
    filters: AuditFilters,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> AuditPage:
    statement = (
        select(AuditEvent, Member.public_id)
        .outerjoin(Member, Member.id == AuditEvent.actor_id)
        .where(AuditEvent.organization_id == organization_id)
    )
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == filters.actor_id)
    if filters.created_after:
        statement = statement.where(AuditEvent.created_at >= filters.created_after)
    if filters.created_before:
        statement = statement.where(AuditEvent.created_at < filters.created_before)
    if cursor:
        statement = statement.where(col(AuditEvent.id) < decode_cursor(cursor))
    # One row more than asked says whether there is an older page, without a count.
    results = session.exec(statement.order_by(col(AuditEvent.id).desc()).limit(limit + 1)).all()
    rows = [AuditRow(event, actor_id) for event, actor_id in results[:limit]]
    more = len(results) > limit
    return AuditPage(rows, encode_cursor(rows[-1].event.id) if more else None)


def member_by_public_id(session: Session, organization_id: int, public_id: str) -> Member | None:
    return find_in_org(session, Member, organization_id, public_id)


def member_by_email(session: Session, organization_id: int, email: str) -> Member | None:
    return session.exec(
        select(Member).where(Member.email == email, Member.organization_id == organization_id)
    ).first()
