"""Events and their guests: creating and editing events, inviting within the allowance,
accepting, declining, the waiting list, and the e-mail's .ics calendar entry."""

from __future__ import annotations

import threading
from datetime import timedelta

import icalendar
import pytest
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.errors import DomainError, NotAllowed
from portal.events import service as events
from portal.models import (
    Event,
    EventGuest,
    Invitation,
    Member,
    Organization,
    OutboxItem,
    WebhookEndpoint,
)
from portal.roles import Role
from tests.factories import make_member, make_unit
from tests.factories import settings as set_settings

LATER = utcnow() + timedelta(days=10)


def event_input(**changes) -> events.EventInput:
    values = {
        "title": "Summer party",
        "starts_local": (LATER).strftime("%Y-%m-%dT18:00"),
        "ends_local": (LATER).strftime("%Y-%m-%dT22:00"),
        "timezone": "Europe/Berlin",
        "place": "Town hall",
        "capacity": 2,
        "guests_per_member": 2,
    }
    values.update(changes)
    return events.EventInput(**values)


@pytest.fixture
def organiser(session, org):
    return make_member(session, org, Role.HR_TENANT, full_name="Olga Organiser")


@pytest.fixture
def event(session, organiser) -> Event:
    made = events.create_event(session, organiser, event_input(), utcnow())
    session.commit()
    return made


def invite(session, host, event, email, name="Guest"):
    guest, token = events.invite_guest(
        session, host, event, email=email, full_name=name, message="", now=utcnow()
    )
    session.commit()
    return guest, events.digest(token)


def answer(session, digest, email, accepting=True, name="Guest"):
    do = events.accept if accepting else events.decline
    guest = do(session, digest, email=email, full_name=name, now=utcnow())
    session.commit()
    return guest


# --- creating and editing -------------------------------------------------------------------


def test_an_event_is_stored_in_utc_with_its_zone(session, event):
    assert event.timezone == "Europe/Berlin"
    assert events.local_time(event.starts_at, event.timezone).hour == 18
    assert event.starts_at.tzinfo is not None and event.starts_at.utcoffset() == timedelta(0)
    assert event.public_id.startswith("ev-")


@pytest.mark.parametrize(
    ("changes", "code", "field", "words"),
    [
        (
            {"starts_local": "2020-01-01T10:00", "ends_local": "2020-01-01T12:00"},
            "event_in_past",
            "starts_at",
            "The start is in the past",
        ),
        (
            {"ends_local": LATER.strftime("%Y-%m-%dT17:00")},
            "event_ends_before_start",
            "ends_at",
            "The end must be after the start.",
        ),
        ({"timezone": "Mars/Olympus"}, "invalid", "timezone", "Choose a time zone"),
        (
            {
                "starts_local": "9999-12-31T23:30",
                "ends_local": "9999-12-31T23:50",
                "timezone": "Pacific/Pago_Pago",
            },
            "invalid",
            "starts_at",
            "Enter a date between",
        ),
        ({"place": "", "online_url": ""}, "invalid", "place", "Give a place or an online link"),
        ({"capacity": 0}, "invalid", "capacity", "The capacity must be between"),
        ({"title": " "}, "invalid", "title", "A title is required."),
        ({"online_url": "javascript:alert(1)"}, "invalid", "online_url", "must be a web address"),
    ],
)
def test_bad_events_are_refused_with_their_own_words(
    session, organiser, changes, code, field, words
):
    with pytest.raises(DomainError) as refused:
        events.create_event(session, organiser, event_input(**changes), utcnow())
    assert refused.value.code == code
    assert any(words in m for m in refused.value.details["problems"][field])
    session.rollback()
    assert session.exec(select(Event)).first() is None


def test_members_can_not_create_events(session, org):
    member = make_member(session, org, Role.USER)
    with pytest.raises(NotAllowed):
        events.create_event(session, member, event_input(), utcnow())


def test_a_local_organiser_makes_events_for_their_unit_which_other_units_do_not_see(session, org):
    north, south = make_unit(session, org), make_unit(session, org)
    hr = make_member(session, org, Role.HR_LOCAL, unit=north)
    made = events.create_event(session, hr, event_input(), utcnow())
    session.commit()
    assert made.unit_id == north.id
    southerner = make_member(session, org, Role.USER, unit=south)
    northerner = make_member(session, org, Role.USER, unit=north)
    assert events.upcoming(session, southerner, utcnow()).events == []
    assert [e.id for e in events.upcoming(session, northerner, utcnow()).events] == [made.id]


def test_capacity_below_the_accepted_guests_is_refused_and_nothing_changes(
    session, organiser, event
):
    for n in (1, 2):
        _guest, digest = invite(session, organiser, event, f"g{n}@example.org")
        answer(session, digest, f"g{n}@example.org")
    with pytest.raises(events.CapacityBelowAccepted, match="2 guests have already accepted"):
        events.update_event(session, organiser, event, event_input(capacity=1), utcnow())
    session.rollback()
    session.expire_all()
    stored = session.get(Event, event.id)
    assert (stored.capacity, stored.sequence) == (2, 0)


def test_more_places_promote_the_waiting_list_in_order(session, organiser, event):
    digests = []
    for n in range(4):
        _guest, digest = (
            invite(session, organiser, event, f"w{n}@example.org")
            if n < 2
            else (
                invite(
                    session,
                    make_member(session, _org(session, organiser)),
                    event,
                    f"w{n}@example.org",
                )
            )
        )
        answer(session, digest, f"w{n}@example.org")
        digests.append(digest)
    events.update_event(session, organiser, event, event_input(capacity=3), utcnow())
    session.commit()
    statuses = {g.email: g.status for g in session.exec(select(EventGuest))}
    assert statuses == {
        "w0@example.org": "accepted",
        "w1@example.org": "accepted",
        "w2@example.org": "accepted",
        "w3@example.org": "waiting",
    }


def _org(session, member):
    return session.get(Organization, member.organization_id)


# --- guests -----------------------------------------------------------------------------------


def test_a_guest_invited_twice_is_refused(session, organiser, event):
    invite(session, organiser, event, "twice@example.org")
    with pytest.raises(events.GuestAlreadyInvited, match="already invited"):
        invite(session, organiser, event, "Twice@Example.org")


def test_a_member_over_their_allowance_is_refused(session, organiser, event):
    invite(session, organiser, event, "a@example.org")
    invite(session, organiser, event, "b@example.org")
    with pytest.raises(events.GuestAllowanceReached, match="the most each member may bring"):
        invite(session, organiser, event, "c@example.org")
    session.rollback()
    assert len(session.exec(select(EventGuest)).all()) == 2


def test_a_declined_guest_gives_the_allowance_back(session, organiser, event):
    invite(session, organiser, event, "a@example.org")
    _guest, digest = invite(session, organiser, event, "b@example.org")
    answer(session, digest, "b@example.org", accepting=False)
    invite(session, organiser, event, "c@example.org")
    assert events.allowance_left(session, event, organiser) == 0


def test_accept_then_full_then_waiting_list_promoted_when_someone_declines(
    session, org, organiser, event
):
    other = make_member(session, org, Role.USER)
    seats = [invite(session, organiser, event, f"s{n}@example.org") for n in (1, 2)]
    late, late_digest = invite(session, other, event, "late@example.org")
    for n, (_g, digest) in enumerate(seats, 1):
        assert answer(session, digest, f"s{n}@example.org").status == "accepted"
    assert answer(session, late_digest, "late@example.org").status == "waiting"
    answer(session, seats[0][1], "s1@example.org", accepting=False)
    session.expire_all()
    assert session.get(EventGuest, late.id).status == "accepted"
    assert session.get(Event, event.id).accepted_count == 2
    topics = [i.topic for i in session.exec(select(OutboxItem).where(OutboxItem.kind == "email"))]
    assert topics.count("event_place_opened") == 1


def test_answering_needs_the_invited_address_and_a_name(session, organiser, event):
    _guest, digest = invite(session, organiser, event, "me@example.org")
    with pytest.raises(DomainError, match="address this invitation was sent to"):
        events.accept(session, digest, email="other@example.org", full_name="Me", now=utcnow())
    with pytest.raises(DomainError, match="A name is required"):
        events.accept(session, digest, email="me@example.org", full_name=" ", now=utcnow())
    with pytest.raises(events.GuestLinkInvalid):
        events.accept(session, "0" * 64, email="me@example.org", full_name="Me", now=utcnow())


def test_accepting_twice_takes_one_place(session, organiser, event):
    _guest, digest = invite(session, organiser, event, "me@example.org")
    answer(session, digest, "me@example.org")
    answer(session, digest, "me@example.org")
    session.expire_all()
    assert session.get(Event, event.id).accepted_count == 1


def test_webhooks_follow_the_guest(session, org, organiser, event):
    session.add(
        WebhookEndpoint(
            organization_id=org.id,
            url="https://hooks.example.org/",
            event_types=["EVENT_GUEST_INVITED", "EVENT_GUEST_ACCEPTED", "EVENT_GUEST_DECLINED"],
            sealed_secret="x",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    session.commit()
    guest, digest = invite(session, organiser, event, "hook@example.org")
    answer(session, digest, "hook@example.org")
    answer(session, digest, "hook@example.org", accepting=False)
    sent = session.exec(
        select(OutboxItem).where(OutboxItem.kind == "webhook").order_by(OutboxItem.id)
    ).all()
    assert [i.topic for i in sent] == [
        "EVENT_GUEST_INVITED",
        "EVENT_GUEST_ACCEPTED",
        "EVENT_GUEST_DECLINED",
    ]
    data = sent[1].payload["event"]["data"]
    assert data["eventId"] == event.public_id and data["guestId"] == guest.public_id
    assert data["inviterId"] == organiser.public_id and data["status"] == "ACCEPTED"


# --- the e-mail and its calendar entry ----------------------------------------------------


def _calendar(message) -> icalendar.Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_the_invitation_carries_an_ics_whose_uid_survives_an_update(
    app, session, smtp, organiser, event
):
    invite(session, organiser, event, "cal@example.org", name="Cal Guest")
    assert Worker(app).run_once().delivered == 1
    (first,) = smtp.messages
    assert first["Subject"] == "Olga Organiser invites you to Summer party"
    assert "/guest?token=" in first.get_body(("plain",)).get_content()
    calendar = _calendar(first)
    (entry,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert entry["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert entry.decoded("DTSTART").hour == 18
    assert str(entry["ORGANIZER"]) == f"mailto:{organiser.email}"
    assert entry["ORGANIZER"].params["CN"] == "Olga Organiser"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]

    events.update_event(
        session,
        organiser,
        event,
        event_input(title="Summer party (moved)", starts_local=LATER.strftime("%Y-%m-%dT19:00")),
        utcnow(),
    )
    session.commit()
    assert Worker(app).run_once().delivered == 1
    updated = smtp.messages[1]
    assert updated["Subject"] == "Updated: Summer party (moved)"
    (moved,) = _calendar(updated).walk("VEVENT")
    assert str(moved["UID"]) == str(entry["UID"])
    assert moved["SEQUENCE"] == entry["SEQUENCE"] + 1
    assert moved.decoded("DTSTART").hour == 19


# --- concurrency (PostgreSQL shows real races; SQLite serialises) --------------------------


def _race(engine, calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                result = call(own).status
                own.commit()
            except DomainError as error:
                own.rollback()
                result = error.code
            except Exception as error:  # noqa: BLE001  (SQLite's "database is locked")
                own.rollback()
                result = type(error).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_accepts_never_seat_more_guests_than_places(session, engine, org, organiser):
    event = events.create_event(
        session, organiser, event_input(capacity=3, guests_per_member=20), utcnow()
    )
    session.commit()
    guests = [invite(session, organiser, event, f"race{n}@example.org") for n in range(12)]
    outcomes = _race(
        engine,
        [
            (
                lambda own, d=digest, n=n: events.accept(
                    own, d, email=f"race{n}@example.org", full_name="Racer", now=utcnow()
                )
            )
            for n, (_g, digest) in enumerate(guests)
        ],
    )
    assert sorted(outcomes) == ["accepted"] * 3 + ["waiting"] * 9, outcomes
    session.expire_all()
    assert session.get(Event, event.id).accepted_count == 3
    seated = session.exec(
        select(EventGuest).where(EventGuest.event_id == event.id, EventGuest.status == "accepted")
    ).all()
    assert len(seated) == 3


def test_concurrent_declines_promote_each_waiting_guest_once_in_order(
    session, engine, org, organiser
):
    event = events.create_event(
        session, organiser, event_input(capacity=4, guests_per_member=20), utcnow()
    )
    session.commit()
    guests = [invite(session, organiser, event, f"q{n}@example.org") for n in range(8)]
    for n, (_g, digest) in enumerate(guests):
        answer(session, digest, f"q{n}@example.org")  # 4 seated, 4 waiting in order
    outcomes = _race(
        engine,
        [
            (
                lambda own, d=digest, n=n: events.decline(
                    own, d, email=f"q{n}@example.org", full_name="Racer", now=utcnow()
                )
            )
            for n, (_g, digest) in enumerate(guests[:3])
        ],
    )
    assert outcomes == ["declined"] * 3, outcomes
    session.expire_all()
    statuses = [session.get(EventGuest, g.id).status for g, _ in guests]
    assert statuses == ["declined"] * 3 + ["accepted"] * 4 + ["waiting"]
    assert session.get(Event, event.id).accepted_count == 4


# --- a guest who joins ------------------------------------------------------------------------


def test_a_guest_who_joins_is_a_referral_of_the_member_who_brought_them(
    session, org, organiser, event
):
    host = make_member(session, org, Role.USER, full_name="Max Member")
    _guest, digest = invite(session, host, event, "joiner@example.org")
    with pytest.raises(NotAllowed, match="Accept the invitation to the event first"):
        events.join_as_member(
            session, digest, full_name="Jo", password="long password", now=utcnow()
        )
    answer(session, digest, "joiner@example.org")
    member, _view = events.join_as_member(
        session, digest, full_name="Jo Joiner", password="long password", now=utcnow()
    )
    session.commit()
    assert member.invited_by_id == host.id and member.email == "joiner@example.org"
    invitation = session.get(Invitation, member.invitation_id)
    assert (invitation.source, invitation.status, invitation.inviter_id) == (
        "event",
        "ACCEPTED",
        host.id,
    )
    topics = [i.topic for i in session.exec(select(OutboxItem).where(OutboxItem.kind == "email"))]
    assert "invite_accepted" in topics  # the host hears of it, as for any referral
    with pytest.raises(DomainError, match="already has an account"):
        events.join_as_member(
            session, digest, full_name="Jo", password="long password", now=utcnow()
        )
    session.rollback()

    # Only while the host may still invite.
    other, other_digest = invite(session, host, event, "second@example.org")
    answer(session, other_digest, "second@example.org")
    set_settings(session, org, min_inviter_role=Role.HR_TENANT.value)
    with pytest.raises(NotAllowed, match="can't invite new members"):
        events.join_as_member(
            session, other_digest, full_name="Sam", password="long password", now=utcnow()
        )
    session.rollback()
    assert session.exec(select(Member).where(Member.email == "second@example.org")).first() is None
