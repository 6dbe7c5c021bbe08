"""Bulk invitations (portal/bulk/service.py): the preview's counts and reasons, sending in
chunks through send_invitation, the daily limit and its explicit raise, the purge."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import func, select

from portal.bulk import service as bulk
from portal.bulk.csvfile import read_lines
from portal.clock import utcnow
from portal.errors import Conflict, NotAllowed
from portal.invites import service as invites
from portal.models import (
    BulkJob,
    BulkJobStatus,
    BulkRow,
    Invitation,
    InvitationSend,
    OutboxItem,
    RefusedSend,
)
from portal.roles import Role
from tests.factories import make_member, make_org, settings
from tests.query_count import count_queries

FILE = (
    "email,name,message\n"
    "alma@example.org,Alma,Welcome!\n"  # 2 valid
    "not-an-address,Nobody,\n"  # 3 invalid
    "ALMA@example.org,Alma again,\n"  # 4 duplicate of line 2
    "member@example.org,Meg,\n"  # 5 already a member
    "pending@example.org,Pat,\n"  # 6 already invited
    "bob@example.org,Bob\x1bby,\n"  # 7 invalid name
    "carla@example.org,Carla,\n"  # 8 valid
)


def preview(session, actor, text: str = FILE) -> BulkJob:
    job = bulk.create_preview(
        session, actor, read_lines(text.encode()), filename="people.csv", now=utcnow()
    )
    session.commit()
    return job


def rows(session, job) -> dict[int, BulkRow]:
    found = session.exec(select(BulkRow).where(BulkRow.job_id == job.id)).all()
    return {row.line: row for row in found}


def run_to_the_end(session, job, size: int = 2) -> int:
    chunks = 0
    while bulk.process_chunk(session, job.id, utcnow(), size=size):
        session.commit()
        chunks += 1
    session.commit()
    return chunks


@pytest.fixture
def world(session, org, admin):
    make_member(session, org, email="member@example.org")
    invites.send_invitation(session, admin, email="pending@example.org", now=utcnow())
    session.commit()
    return admin


def test_the_preview_counts_each_kind_of_row_and_says_why(session, world):
    job = preview(session, world)
    assert (job.total_rows, job.valid_count, job.invalid_count) == (7, 2, 2)
    assert (job.duplicate_count, job.member_count, job.invited_count) == (1, 1, 1)
    assert job.status == BulkJobStatus.PREVIEW and job.public_id.startswith("bj-")
    found = rows(session, job)
    assert {line: row.outcome for line, row in found.items()} == {
        2: "valid",
        3: "invalid",
        4: "duplicate",
        5: "member",
        6: "invited",
        7: "invalid",
        8: "valid",
    }
    assert found[3].reason.startswith("not-an-address is not a valid e-mail address")
    assert found[4].reason == "alma@example.org is also on line 2; only that line is sent."
    assert found[5].reason == "member@example.org already has an account, so it can't be invited."
    assert found[6].reason.startswith("pending@example.org already has a pending invitation")
    assert found[7].reason == (
        "A name can't contain line breaks or control characters (it has U+001B)."
    )
    # Nothing is sent by a preview.
    assert session.exec(select(func.count()).select_from(Invitation)).one() == 1


def test_members_may_not_upload_and_nothing_is_written(session, org):
    member = make_member(session, org, Role.USER)
    with pytest.raises(NotAllowed) as refused:
        bulk.create_preview(session, member, read_lines(FILE.encode()), filename="x", now=utcnow())
    assert "for HR and admins" in refused.value.message


def test_sending_takes_the_valid_rows_in_chunks_and_queues_their_emails(session, world):
    job = preview(session, world)
    bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())
    session.commit()
    assert job.status == BulkJobStatus.SENDING
    assert run_to_the_end(session, job, size=1) == 2
    session.refresh(job)
    assert (job.status, job.sent_count, job.failed_count) == ("done", 2, 0)
    found = rows(session, job)
    sent = {line: row for line, row in found.items() if row.outcome == "sent"}
    assert set(sent) == {2, 8}
    invitation = session.get(Invitation, sent[2].invitation_id)
    assert (invitation.email, invitation.full_name, invitation.message) == (
        "alma@example.org",
        "Alma",
        "Welcome!",
    )
    topics = Counter(session.exec(select(OutboxItem.topic).where(OutboxItem.kind == "email")).all())
    assert topics["invitation"] == 3  # the pending one from the fixture, and these two
    # Each chunk was an outbox item, each queued by the last; they all ran here directly.
    assert session.exec(select(func.count()).where(OutboxItem.kind == "bulk")).one() == 2


def test_a_row_refused_when_its_turn_comes_is_marked_with_the_services_words(session, org, world):
    job = preview(session, world)
    bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())
    make_member(session, org, email="carla@example.org")  # joined between preview and send
    run_to_the_end(session, job)
    session.refresh(job)
    assert (job.sent_count, job.failed_count) == (1, 1)
    carla = rows(session, job)[8]
    assert (carla.outcome, carla.invitation_id) == ("failed", None)
    assert carla.reason == "carla@example.org already has an account, so it can't be invited."


def test_sending_twice_is_refused(session, world):
    job = preview(session, world)
    bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())
    session.commit()
    with pytest.raises(Conflict):
        bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())


def test_rows_past_the_daily_limit_are_not_sent_unless_an_admin_raises_it(session, org, admin):
    settings(session, org, daily_limit_per_member=3)
    text = "email\n" + "".join(f"g{n}@example.org\n" for n in range(5))
    job = preview(session, admin, text)
    assert bulk.limit_needed(session, admin, job, utcnow()) == 5
    bulk.start_sending(session, admin, job, raise_limit=False, now=utcnow())
    run_to_the_end(session, job)
    session.refresh(job)
    assert (job.sent_count, job.failed_count, job.raised_limit) == (3, 2, None)
    assert "your daily limit" in rows(session, job)[6].reason

    raised = preview(session, admin, "email\n" + "".join(f"h{n}@example.org\n" for n in range(4)))
    assert bulk.limit_needed(session, admin, raised, utcnow()) == 7  # 3 sent + 4
    bulk.start_sending(session, admin, raised, raise_limit=True, now=utcnow())
    run_to_the_end(session, raised)
    session.refresh(raised)
    assert (raised.sent_count, raised.failed_count, raised.raised_limit) == (4, 0, 7)
    # The raise was for that job only: a single send is still held to the organisation's.
    with pytest.raises(invites.DailyLimit):
        invites.send_invitation(session, admin, email="one@example.org", now=utcnow())


def test_hr_may_not_raise_their_limit(session, org):
    hr = make_member(session, org, Role.HR_TENANT)
    settings(session, org, daily_limit_per_member=1)
    job = preview(session, hr, "email\na@example.org\nb@example.org\n")
    with pytest.raises(NotAllowed) as refused:
        bulk.start_sending(session, hr, job, raise_limit=True, now=utcnow())
    assert (
        refused.value.message
        == "Only admins can raise their daily limit for a file; HR keep theirs."
    )


def test_only_the_uploader_sees_or_sends_a_job(session, org, world):
    job = preview(session, world)
    other = make_member(session, org, Role.ADMIN_TENANT)
    with pytest.raises(NotAllowed):
        bulk.start_sending(session, other, job, raise_limit=False, now=utcnow())
    elsewhere = make_member(session, make_org(session), Role.ADMIN_TENANT)
    with pytest.raises(NotAllowed):
        bulk.discard(session, elsewhere, job)


def test_previews_left_unsent_for_a_day_are_purged_and_sent_jobs_kept(session, world):
    old = preview(session, world)
    sent = preview(session, world, "email\nzed@example.org\n")
    bulk.start_sending(session, world, sent, raise_limit=False, now=utcnow())
    session.commit()
    assert bulk.purge_previews(session, utcnow() + timedelta(hours=23)) == 0
    assert bulk.purge_previews(session, utcnow() + timedelta(hours=25)) == 1
    session.commit()
    assert session.get(BulkJob, old.id) is None
    assert session.exec(select(func.count()).where(BulkRow.job_id == old.id)).one() == 0
    assert session.get(BulkJob, sent.id) is not None


def test_a_chunk_run_again_after_the_job_finished_does_nothing(session, world):
    job = preview(session, world)
    bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())
    run_to_the_end(session, job, size=10)
    assert bulk.process_chunk(session, job.id, utcnow()) == 0
    assert session.exec(select(func.count()).select_from(InvitationSend)).one() == 3


def _chunk_statements(session, engine, admin, rows: int, tag: str) -> list[str]:
    text = "email,name,message\n" + "".join(
        f"{tag}{n}@example.org,Guest {n},Hi!\n" for n in range(rows)
    )
    job = preview(session, admin, text)
    bulk.start_sending(session, admin, job, raise_limit=True, now=utcnow())
    session.commit()
    with count_queries(engine) as statements:
        assert bulk.process_chunk(session, job.id, utcnow(), size=rows) == rows
    session.commit()
    session.refresh(job)
    assert (job.status, job.sent_count) == ("done", rows)
    return statements


def test_a_chunks_statements_do_not_grow_with_its_rows(session, engine, admin):
    small = _chunk_statements(session, engine, admin, 10, "small")
    large = _chunk_statements(session, engine, admin, 100, "large")
    # The job, its rows, up to six lookups, three inserts and the invitations read back,
    # two updates: the same for 10 rows as for 100.
    assert len(small) == len(large) <= 14, large


def test_a_racing_send_sends_that_chunk_row_by_row(session, org, world, monkeypatch):
    """The batch's lookups miss a pending invitation made after them (here: hidden), so
    its insert trips the unique index; that chunk is sent again one row at a time."""
    job = preview(session, world)
    bulk.start_sending(session, world, job, raise_limit=False, now=utcnow())
    session.commit()
    invites.send_invitation(session, world, email="carla@example.org", now=utcnow())
    session.commit()
    monkeypatch.setattr(invites, "_pending_by_email", lambda *_args: {})
    one_by_one = []
    send_one = bulk._send_one
    monkeypatch.setattr(bulk, "_send_one", lambda *args: one_by_one.append(1) or send_one(*args))
    run_to_the_end(session, job, size=10)
    assert len(one_by_one) == 2  # both rows of the chunk, after its batch rolled back
    session.refresh(job)
    assert (job.status, job.sent_count, job.failed_count) == ("done", 1, 1)
    found = rows(session, job)
    assert found[2].outcome == "sent" and found[2].invitation_id is not None
    assert (found[8].outcome, found[8].invitation_id) == ("failed", None)
    assert found[8].reason.startswith("carla@example.org already has a pending invitation")
    # The refused row counted against the limit once, as a single send's refusal does.
    assert session.exec(select(func.count()).select_from(RefusedSend)).one() == 1
    assert session.exec(select(func.count()).where(OutboxItem.topic == "invitation")).one() == 3
