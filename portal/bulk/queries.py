"""Reads for the bulk pages: the uploader's jobs, a job's problem rows, its rows not sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, select

from portal.lookups import find_in_org
from portal.models import BulkJob, BulkOutcome, BulkRow, Member

PAGE = 50
NOT_SHOWN = (BulkOutcome.VALID.value, BulkOutcome.SENT.value)


def find_job(session: Session, actor: Member, public_id: str) -> BulkJob | None:
    return find_in_org(session, BulkJob, actor.organization_id, public_id)


def recent_jobs(session: Session, actor: Member, limit: int = 10) -> list[BulkJob]:
    """The uploader's latest files (ix_bulk_job_creator_id)."""
    return list(
        session.exec(
            select(BulkJob)
            .where(BulkJob.created_by_id == actor.id)
            .order_by(BulkJob.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class Problems:
    rows: list[BulkRow]
    next_after: int | None  # the line to continue after, when there are more


def problems(session: Session, job: BulkJob, after: int = 0) -> Problems:
    """A page of the rows that won't be (or weren't) sent, in line order, keyset on the line
    (uq_bulk_row_job_line)."""
    rows = list(
        session.exec(
            select(BulkRow)
            .where(
                BulkRow.job_id == job.id,
                BulkRow.line > after,
                BulkRow.outcome.not_in(NOT_SHOWN),  # type: ignore[attr-defined]
            )
            .order_by(BulkRow.line)
            .limit(PAGE + 1)
        ).all()
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return Problems(rows, rows[-1].line if more else None)


def not_sent(session: Session, job: BulkJob) -> Iterator[BulkRow]:
    """Every row that wasn't sent, for the CSV download (streamed, not loaded at once)."""
    yield from session.exec(
        select(BulkRow)
        .where(BulkRow.job_id == job.id, BulkRow.outcome.not_in(NOT_SHOWN))  # type: ignore[attr-defined]
        .order_by(BulkRow.line)
        .execution_options(yield_per=500)
    )
