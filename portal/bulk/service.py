"""Bulk invitations: a checked upload kept as a preview, then sent by the worker in chunks.

Plain functions over a session: no Flask, no commit. Every rule about an invitation is
`portal.invites.service`'s: the preview asks `check_fields` and the same lookups (in bulk,
one query per 500 addresses), and each chunk is finally sent through `send_invitations`
(send_invitation's rules for many rows, per row by send_invitation itself when a racing
send trips the unique index), so a row refused when its turn comes says why in the
service's own words.

Restart safety: a chunk marks its rows and creates their invitations (whose e-mails
`send_invitations` queues) in the one transaction that also records the chunk's outbox item
as done and queues the next chunk. A worker killed mid-chunk commits none of it; the item's
lease runs out and another worker takes the same rows again, still `valid`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from portal.bulk.csvfile import Line
from portal.delivery.outbox import enqueue
from portal.email_addresses import ASCII_ONLY, MailReach, one_line
from portal.errors import Conflict, DomainError, Invalid
from portal.invites import service as invites
from portal.models import (
    BulkJob,
    BulkJobStatus,
    BulkOutcome,
    BulkRow,
    Invitation,
    InvitationStatus,
    Member,
)
from portal.orgs.service import settings_for
from portal.policy import may_raise_bulk_limit, may_see_bulk_job, may_send_bulk, require

CHUNK_SIZE = 250  # rows per outbox item: well inside a lease, and a progress step
PREVIEW_LIFETIME = timedelta(hours=24)  # a preview not sent by then is deleted
LOOKUP_BATCH = 500  # addresses per IN (...) lookup
ROWS = BulkRow.__table__  # type: ignore[attr-defined]

PROBLEMS = (
    BulkOutcome.INVALID,
    BulkOutcome.DUPLICATE,
    BulkOutcome.MEMBER,
    BulkOutcome.INVITED,
    BulkOutcome.FAILED,
)


def _batches(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), LOOKUP_BATCH):
        yield values[start : start + LOOKUP_BATCH]


def _members(session: Session, emails: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in _batches(emails):
        found.update(session.exec(select(Member.email).where(Member.email.in_(batch))).all())
    return found


def _pending(
    session: Session, org_id: int, emails: Sequence[str], now: datetime
) -> dict[str, Invitation]:
    """Pending invitations by address; past-due ones don't count (the send expires them)."""
    found: dict[str, Invitation] = {}
    for batch in _batches(emails):
        for invitation in session.exec(
            select(Invitation).where(
                Invitation.organization_id == org_id,
                Invitation.status == InvitationStatus.PENDING,
                Invitation.expires_at > now,
                Invitation.email.in_(batch),
            )
        ):
            found[invitation.email] = invitation
    return found


def _row(job_id: int, line: Line, outcome: BulkOutcome, reason: str = "", **clean: str) -> dict:
    # Refused values are kept as typed (cut to fit their columns) for the failed-rows CSV.
    return {
        "job_id": job_id,
        "line": line.number,
        "email": clean.get("email", line.email)[:320],
        "full_name": clean.get("full_name", line.full_name)[:200],
        "message": clean.get("message", line.message)[:1000],
        "outcome": outcome.value,
        "reason": reason[:500],
        "invitation_id": None,
    }


def create_preview(
    session: Session,
    actor: Member,
    lines: Sequence[Line],
    *,
    filename: str,
    now: datetime,
    reach: MailReach = ASCII_ONLY,
) -> BulkJob:
    """Check every line and keep the file as a job in status `preview`, nothing sent yet."""
    require(may_send_bulk(actor, settings_for(session, actor.organization_id)))
    job = BulkJob(
        organization_id=actor.organization_id,
        unit_id=actor.unit_id,
        created_by_id=actor.id,
        filename=one_line(filename)[:200],
        total_rows=len(lines),
        created_at=now,
    )
    session.add(job)
    session.flush()
    assert job.id is not None
    checked: list[tuple[Line, str, str, str]] = []
    rows: list[dict] = []
    first_line: dict[str, int] = {}
    for line in lines:
        try:
            email, name, message = invites.check_fields(
                line.email, line.full_name, line.message, reach=reach
            )
        except DomainError as error:
            rows.append(_row(job.id, line, BulkOutcome.INVALID, error.message))
            continue
        if email in first_line:
            reason = f"{email} is also on line {first_line[email]}; only that line is sent."
            rows.append(_row(job.id, line, BulkOutcome.DUPLICATE, reason, email=email))
            continue
        first_line[email] = line.number
        checked.append((line, email, name, message))
    addresses = [email for _, email, _, _ in checked]
    members = _members(session, addresses)
    pending = _pending(session, job.organization_id, addresses, now)
    for line, email, name, message in checked:
        clean = {"email": email, "full_name": name, "message": message}
        if email in members:
            refusal: DomainError = invites.already_member(email)
            rows.append(_row(job.id, line, BulkOutcome.MEMBER, refusal.message, **clean))
        elif email in pending:
            refusal = invites.already_invited(actor, pending[email])
            rows.append(_row(job.id, line, BulkOutcome.INVITED, refusal.message, **clean))
        else:
            rows.append(_row(job.id, line, BulkOutcome.VALID, **clean))
    if rows:
        session.execute(insert(ROWS), rows)  # one executemany, not an ORM object per row
    counts = {outcome: 0 for outcome in BulkOutcome}
    for row in rows:
        counts[BulkOutcome(row["outcome"])] += 1
    job.valid_count = counts[BulkOutcome.VALID]
    job.invalid_count = counts[BulkOutcome.INVALID]
    job.duplicate_count = counts[BulkOutcome.DUPLICATE]
    job.member_count = counts[BulkOutcome.MEMBER]
    job.invited_count = counts[BulkOutcome.INVITED]
    session.add(job)
    return job


def used_today(session: Session, actor: Member, now: datetime) -> int:
    """The sends (and counted refusals) the actor's daily limit already holds."""
    return invites.sends_in_last_day(session, actor, now)


def limit_needed(session: Session, actor: Member, job: BulkJob, now: datetime) -> int | None:
    """The daily limit this job would need, when it is above the organisation's."""
    limit = settings_for(session, actor.organization_id).daily_limit_per_member
    needed = used_today(session, actor, now) + job.valid_count
    return needed if needed > limit else None


def start_sending(
    session: Session, actor: Member, job: BulkJob, *, raise_limit: bool, now: datetime
) -> BulkJob:
    """Hand a preview's valid rows to the worker. With `raise_limit` (an admin's explicit
    confirmation), the actor's daily limit for this job's sends is raised to what it needs."""
    require(may_see_bulk_job(actor, job))
    if job.status != BulkJobStatus.PREVIEW:
        raise Conflict("This file is already being sent (or was sent). Upload it again to resend.")
    require(may_send_bulk(actor, settings_for(session, actor.organization_id)))
    if job.valid_count == 0:
        raise Invalid("No row of this file can be sent. Correct the file and upload it again.")
    if raise_limit:
        require(may_raise_bulk_limit(actor))
        job.raised_limit = limit_needed(session, actor, job, now)
    changed = session.execute(
        update(BulkJob)
        .where(BulkJob.id == job.id, BulkJob.status == BulkJobStatus.PREVIEW)
        .values(status=BulkJobStatus.SENDING.value, queued_at=now, raised_limit=job.raised_limit)
    ).rowcount
    if changed != 1:  # a second click, or a second tab, got there first
        raise Conflict("This file is already being sent. Its progress is on this page.")
    session.refresh(job)
    _queue_chunk(session, job, now)
    return job


def _queue_chunk(session: Session, job: BulkJob, now: datetime) -> None:
    done = job.sent_count + job.failed_count
    item = enqueue(
        session,
        kind="bulk",
        topic="invitations",
        idempotency_key=f"bulk-{job.public_id}-{done}",
        payload={"job_id": job.id},
        now=now,
        organization_id=job.organization_id,
    )
    # Due from when the job was queued: the worker takes the next chunk before the e-mails
    # the last one queued, so progress doesn't wait on the mail server.
    item.next_attempt_at = job.queued_at or now


def process_chunk(
    session: Session,
    job_id: int,
    now: datetime,
    *,
    size: int = CHUNK_SIZE,
    reach: MailReach = ASCII_ONLY,
) -> int:
    """Send the job's next `size` valid rows through send_invitations (send_invitation's
    rules, its lookups made once per chunk, the inserts together): a refused row is marked
    failed with the service's words and the rest go on. Queues the next chunk while rows
    remain; returns how many rows were handled."""
    job = session.exec(select(BulkJob).where(BulkJob.id == job_id).with_for_update()).first()
    if job is None or job.status != BulkJobStatus.SENDING:
        return 0  # deleted, or finished by an earlier run of this chunk
    actor = session.get(Member, job.created_by_id)
    assert actor is not None
    rows = session.exec(
        select(BulkRow)
        .where(BulkRow.job_id == job.id, BulkRow.outcome == BulkOutcome.VALID)
        .order_by(BulkRow.line)
        .limit(size)
    ).all()
    try:
        with session.begin_nested():
            answers = invites.send_invitations(
                session,
                actor,
                [invites.Wanted(row.email, row.full_name, row.message) for row in rows],
                now,
                daily_limit=job.raised_limit,
                reach=reach,
            )
    except IntegrityError:
        # A racing send took one of these addresses between the lookups and the insert:
        # row by row, that row is refused in the service's words and the others go on.
        answers = [_send_one(session, actor, row, job, now, reach) for row in rows]
    sent = failed = 0
    for row, answer in zip(rows, answers, strict=True):
        if isinstance(answer, DomainError):
            row.outcome, row.reason = BulkOutcome.FAILED.value, answer.message[:500]
            failed += 1
        else:
            row.outcome, row.invitation_id = BulkOutcome.SENT.value, answer.invitation.id
            sent += 1
        session.add(row)
    job.sent_count += sent
    job.failed_count += failed
    if job.sent_count + job.failed_count >= job.valid_count:
        job.status, job.finished_at = BulkJobStatus.DONE.value, now
    session.add(job)
    session.flush()
    if job.status == BulkJobStatus.SENDING:
        _queue_chunk(session, job, now)
    return len(rows)


def _send_one(
    session: Session, actor: Member, row: BulkRow, job: BulkJob, now: datetime, reach: MailReach
) -> invites.Sent | DomainError:
    """One row through send_invitation in a savepoint, its counted refusal recorded."""
    try:
        with session.begin_nested():
            return invites.send_invitation(
                session,
                actor,
                email=row.email,
                full_name=row.full_name,
                message=row.message,
                now=now,
                reach=reach,
                double_submit=False,
                daily_limit=job.raised_limit,
            )
    except DomainError as error:
        if invites.counts_against_limit(error):
            invites.record_refused_send(session, actor, error, now)
        return error


def discard(session: Session, actor: Member, job: BulkJob) -> None:
    """Delete a preview the uploader won't send (its rows with it)."""
    require(may_see_bulk_job(actor, job))
    if job.status != BulkJobStatus.PREVIEW:
        raise Conflict("This file is being sent or was sent, so it can't be discarded.")
    _delete(session, [job.id])


def _delete(session: Session, job_ids: Sequence[int | None]) -> None:
    session.execute(delete(BulkRow).where(BulkRow.job_id.in_(job_ids)))
    session.execute(delete(BulkJob).where(BulkJob.id.in_(job_ids)))


def purge_previews(session: Session, now: datetime, limit: int = 50) -> int:
    """Delete previews left unsent for PREVIEW_LIFETIME (the worker's periodic job)."""
    stale = session.exec(
        select(BulkJob.id)
        .where(
            BulkJob.status == BulkJobStatus.PREVIEW,
            BulkJob.created_at < now - PREVIEW_LIFETIME,
        )
        .limit(limit)
    ).all()
    if stale:
        _delete(session, stale)
    return len(stale)


def progress(job: BulkJob) -> tuple[int, int]:
    """(handled, to handle) of the rows to send."""
    return job.sent_count + job.failed_count, job.valid_count
