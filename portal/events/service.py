"""Events and their guests: organisers create and edit events, members invite guests
within an allowance, guests accept or decline from their own page (no account).

Every change to an event's guests first locks the event's row (FOR UPDATE on PostgreSQL;
SQLite serialises writers anyway), so the places, the allowance and the waiting list are
decided one change at a time; the place itself is still taken by a conditional update
(accepted_count < capacity), so no interleaving can seat more guests than there are places.
Plain functions: no Flask, no commit.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, tuple_, update
from sqlmodel import Session, select

from portal import sealing
from portal.delivery.outbox import enqueue_email
from portal.email_addresses import normalise_email
from portal.errors import AccountExists, Conflict, Gone, Invalid, NotAllowed, NotFound
from portal.invites import service as invites
from portal.models import (
    DeliveryStatus,
    Event,
    EventGuest,
    EventGuestStatus,
    Invitation,
    InvitationSource,
    InvitationStatus,
    Member,
    Organization,
)
from portal.orgs.service import email_taken, settings_for
from portal.policy import (
    may_create_events,
    may_invite_guest,
    may_manage_event,
    may_see_event,
    may_send_invitations,
    oversight,
    require,
)
from portal.validation import check_text, text_problem
from portal.webhooks.service import emit, rfc3339

MAX_TITLE = 200
MAX_PLACE = 300
MAX_URL = 500
MAX_DESCRIPTION = 4000
MAX_NAME = 200
MAX_MESSAGE = 1000
MAX_CAPACITY = 100_000
MAX_GUESTS_PER_MEMBER = 100
PAGE = 25


class EventInPast(Invalid):
    code = "event_in_past"
    meaning = "The event's start is in the past."


class EventEndsBeforeStart(Invalid):
    code = "event_ends_before_start"
    meaning = "The event's end is not after its start."


class CapacityBelowAccepted(Conflict):
    code = "capacity_below_accepted"
    meaning = "The new capacity is below the number of guests who already accepted."


class GuestAlreadyInvited(Conflict):
    code = "guest_already_invited"
    meaning = "The address is already invited to this event."


class GuestAllowanceReached(Conflict):
    code = "guest_allowance_reached"
    meaning = "The member has invited as many guests to this event as each member may."


class GuestLinkInvalid(NotFound):
    code = "invalid_guest_link"
    meaning = "The guest link names no guest."
    title = "Guest link not found"


class EventOver(Gone):
    code = "event_over"
    meaning = "The event has already started or ended."
    title = "This event has already taken place"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


ZoneOrNone = zoneinfo.ZoneInfo | None


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_names() -> list[str]:
    return sorted(_zones())


def local_time(moment: datetime, zone: str) -> datetime:
    """`moment` (UTC) as the event's own clock reads it."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


@dataclass(frozen=True)
class EventInput:
    """What the form (or a caller) gives: local times as typed, in `timezone`."""

    title: str
    starts_local: str  # "YYYY-MM-DDTHH:MM"
    ends_local: str
    timezone: str
    place: str = ""
    online_url: str = ""
    description: str = ""
    capacity: int | None = None
    guests_per_member: int | None = None


@dataclass(frozen=True)
class _Clean:
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str
    online_url: str
    description: str
    capacity: int
    guests_per_member: int


def _text(
    problems: dict[str, list[str]],
    name: str,
    value: str,
    what: str,
    limit: int,
    *,
    multiline: bool = False,
    required: bool = False,
) -> str:
    value = (value or "").replace("\r\n", "\n").strip()
    if (problem := text_problem(value, what=what, multiline=multiline)) is not None:
        problems.setdefault(name, []).append(problem)
    elif required and not value:
        problems.setdefault(name, []).append(f"{what} is required.")
    elif len(value) > limit:
        problems.setdefault(name, []).append(f"{what} can be at most {limit:,} characters.")
    return value


def _moment(
    problems: dict[str, list[str]], name: str, value: str, zone: ZoneOrNone
) -> datetime | None:
    value = (value or "").strip()
    if (problem := text_problem(value, what="A time")) is not None:
        problems.setdefault(name, []).append(problem)
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        problems.setdefault(name, []).append("Enter a date and time like 2027-03-14T18:30.")
        return None
    if local.tzinfo is not None or zone is None:
        if local.tzinfo is not None:
            problems.setdefault(name, []).append("Enter the time without an offset.")
        return None
    try:
        return local.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # the first or last hours the calendar has, on a far-off clock
        problems.setdefault(name, []).append("Enter a date between the years 2 and 9998.")
        return None


def _number(
    problems: dict[str, list[str]], name: str, value: int | None, what: str, low: int, high: int
) -> int:
    if value is None:
        problems.setdefault(name, []).append(f"{what} is required.")
        return low
    if not low <= value <= high:
        problems.setdefault(name, []).append(f"{what} must be between {low} and {high:,}.")
    return value


def _clean(data: EventInput, now: datetime) -> _Clean:
    """Every problem at once (the form shows them beside their fields), or the values."""
    problems: dict[str, list[str]] = {}
    title = _text(problems, "title", data.title, "A title", MAX_TITLE, required=True)
    place = _text(problems, "place", data.place, "The place", MAX_PLACE)
    online_url = _text(problems, "online_url", data.online_url, "The online link", MAX_URL)
    if online_url and not online_url.startswith(("https://", "http://")):
        problems.setdefault("online_url", []).append(
            "The online link must be a web address starting with https://."
        )
    if not place and not online_url and "place" not in problems:
        problems.setdefault("place", []).append("Give a place or an online link (or both).")
    description = _text(
        problems,
        "description",
        data.description,
        "The description",
        MAX_DESCRIPTION,
        multiline=True,
    )
    zone_name = (data.timezone or "").strip()
    zone: ZoneOrNone = None
    if zone_name in _zones():
        zone = zoneinfo.ZoneInfo(zone_name)
    else:
        problems.setdefault("timezone", []).append(
            "Choose a time zone from the list (an IANA name such as Europe/Berlin)."
        )
    starts_at = _moment(problems, "starts_at", data.starts_local, zone)
    ends_at = _moment(problems, "ends_at", data.ends_local, zone)
    capacity = _number(problems, "capacity", data.capacity, "The capacity", 1, MAX_CAPACITY)
    allowance = _number(
        problems,
        "guests_per_member",
        data.guests_per_member,
        "Guests per member",
        0,
        MAX_GUESTS_PER_MEMBER,
    )
    kind: type[Invalid] = Invalid
    if starts_at is not None and starts_at <= now:
        problems.setdefault("starts_at", []).append("The start is in the past: pick a later time.")
        kind = EventInPast
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        problems.setdefault("ends_at", []).append("The end must be after the start.")
        kind = EventEndsBeforeStart if kind is Invalid else kind
    if problems:
        first_field, messages = next(iter(problems.items()))
        raise kind(messages[0], field=first_field, problems=problems)
    assert starts_at is not None and ends_at is not None
    return _Clean(
        title, starts_at, ends_at, zone_name, place, online_url, description, capacity, allowance
    )


def create_event(session: Session, actor: Member, data: EventInput, now: datetime) -> Event:
    """A new event in the actor's scope: their unit (*_LOCAL), the organisation (*_TENANT)."""
    require(may_create_events(actor))
    clean = _clean(data, now)
    event = Event(
        organization_id=actor.organization_id,
        unit_id=None if actor.role_enum.is_tenant_wide else actor.unit_id,
        organizer_id=actor.id,
        created_at=now,
        updated_at=now,
        **clean.__dict__,
    )
    session.add(event)
    session.flush()
    return event


def _lock(session: Session, event_id: int) -> Event:
    """The event's row, locked until the commit and read afresh: what decides places."""
    return session.exec(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def update_event(
    session: Session, actor: Member, event: Event, data: EventInput, now: datetime
) -> Event:
    """Edit an event: the guests get the new details (same calendar UID, higher SEQUENCE);
    more places promote waiting guests; fewer than already accepted is refused."""
    require(may_manage_event(actor, event))
    if event.starts_at <= now:
        raise EventOver("This event has already started, so it can no longer be changed.")
    clean = _clean(data, now)
    event = _lock(session, event.id)
    if clean.capacity < event.accepted_count:
        raise CapacityBelowAccepted(
            f"{event.accepted_count} guests have already accepted, so the capacity can't be "
            f"below {event.accepted_count}.",
            field="capacity",
        )
    for name, value in clean.__dict__.items():
        setattr(event, name, value)
    event.sequence += 1
    event.updated_at = now
    session.add(event)
    session.flush()
    _promote(session, event, now)
    guests = session.exec(
        select(EventGuest.id).where(
            EventGuest.event_id == event.id, EventGuest.status != EventGuestStatus.DECLINED
        )
    ).all()
    for guest_id in guests:
        _mail(session, "event_updated", event, guest_id, now, f"{event.sequence}")
    return event


def get_event(session: Session, actor: Member, event_public_id: str) -> Event:
    event = session.exec(
        select(Event).where(
            Event.public_id == event_public_id, Event.organization_id == actor.organization_id
        )
    ).first()
    if event is None or not may_see_event(actor, event):
        raise NotFound("There is no such event in your organisation.")
    return event


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    next_after: str | None


def upcoming(
    session: Session, actor: Member, now: datetime, after: str | None = None, limit: int = PAGE
) -> EventPage:
    """Events not yet over that the actor may see, soonest end first (keyset on
    (ends_at, id), served by ix_event_org_ends_id)."""
    reach = oversight(actor)
    visible = [Event.unit_id.is_(None)]  # type: ignore[union-attr]
    if actor.unit_id is not None:
        visible.append(Event.unit_id == actor.unit_id)
    if reach.clauses:
        visible.append(reach.where(Event))
    statement = select(Event).where(
        Event.organization_id == actor.organization_id, Event.ends_at > now, or_(*visible)
    )
    if after:
        cursor = session.exec(
            select(Event.ends_at, Event.id).where(
                Event.public_id == after, Event.organization_id == actor.organization_id
            )
        ).first()
        if cursor is not None:
            statement = statement.where(and_(tuple_(Event.ends_at, Event.id) > tuple_(*cursor)))
    rows = list(session.exec(statement.order_by(Event.ends_at, Event.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].public_id if more else None)


# --- guests -----------------------------------------------------------------------------------


def _allowance_used(session: Session, event: Event, host: Member) -> int:
    return session.exec(
        select(func.count())
        .select_from(EventGuest)
        .where(
            EventGuest.event_id == event.id,
            EventGuest.host_id == host.id,
            EventGuest.status != EventGuestStatus.DECLINED,
        )
    ).one()


def allowance_left(session: Session, event: Event, host: Member) -> int:
    return max(0, event.guests_per_member - _allowance_used(session, event, host))


def invite_guest(
    session: Session,
    actor: Member,
    event: Event,
    *,
    email: str,
    full_name: str,
    message: str,
    now: datetime,
) -> tuple[EventGuest, str]:
    """A guest of `actor` for `event`, e-mailed with the calendar entry. Returns the guest
    and its token (for tests; pages never show it: only the guest's e-mail carries it)."""
    require(may_see_event(actor, event))
    problems: dict[str, list[str]] = {}
    full_name = _text(problems, "full_name", full_name, "A name", MAX_NAME)
    message = _text(
        problems, "message", message, "The personal message", MAX_MESSAGE, multiline=True
    )
    if problems:
        first_field, messages = next(iter(problems.items()))
        raise Invalid(messages[0], field=first_field, problems=problems)
    check_text(email, field="email", what="An e-mail address")
    address = normalise_email(email)
    event = _lock(session, event.id)
    if event.starts_at <= now:
        raise EventOver("This event has already started, so guests can no longer be invited.")
    decision = may_invite_guest(actor, event, _allowance_used(session, event, actor))
    if not decision:
        if decision.code == "guest_allowance_reached":
            raise GuestAllowanceReached(decision.reason)
        require(decision)
    taken = session.exec(
        select(EventGuest.id).where(EventGuest.event_id == event.id, EventGuest.email == address)
    ).first()
    if taken is not None:
        raise GuestAlreadyInvited(f"{address} is already invited to this event.", field="email")
    token = secrets.token_urlsafe(32)
    guest = EventGuest(
        organization_id=event.organization_id,
        event_id=event.id,
        host_id=actor.id,
        email=address,
        full_name=full_name,
        message=message,
        token_digest=digest(token),
        sealed_token=sealing.seal(token),
        created_at=now,
        updated_at=now,
    )
    session.add(guest)
    session.flush()
    _mail(session, "event_guest_invited", event, guest.id, now)
    _emit(session, "EVENT_GUEST_INVITED", event, guest, now)
    return guest, token


def token_of(guest: EventGuest) -> str:
    return sealing.unseal(guest.sealed_token)


@dataclass(frozen=True)
class GuestView:
    guest: EventGuest
    event: Event
    host: Member


def open_guest_link(session: Session, token_digest: str) -> GuestView:
    found = session.exec(
        select(EventGuest, Event, Member)
        .join(Event, Event.id == EventGuest.event_id)
        .join(Member, Member.id == EventGuest.host_id)
        .where(EventGuest.token_digest == token_digest)
    ).first()
    if found is None:
        raise GuestLinkInvalid(
            "This guest link doesn't name an invitation. Open the link from your e-mail, or "
            "ask the member who invited you."
        )
    return GuestView(*found)


def _answering(
    session: Session, token_digest: str, email: str, full_name: str, now: datetime
) -> tuple[EventGuest, Event]:
    view = open_guest_link(session, token_digest)
    if view.event.starts_at <= now:
        raise EventOver("This event has already started, so answers are closed.")
    problems: dict[str, list[str]] = {}
    full_name = _text(problems, "full_name", full_name, "A name", MAX_NAME, required=True)
    if problems:
        raise Invalid(problems["full_name"][0], field="full_name", problems=problems)
    check_text(email, field="email", what="An e-mail address")
    if normalise_email(email) != view.guest.email:
        raise Invalid("Please answer with the address this invitation was sent to.", field="email")
    event = _lock(session, view.event.id)
    guest = session.exec(
        select(EventGuest)
        .where(EventGuest.id == view.guest.id)
        .execution_options(populate_existing=True)
    ).one()
    guest.full_name = full_name
    guest.updated_at = now
    return guest, event


def _take_place(session: Session, event: Event) -> bool:
    """The one place-taking statement: it can't go past the capacity, whatever races."""
    taken = session.execute(
        update(Event)
        .where(Event.id == event.id, Event.accepted_count < Event.capacity)
        .values(accepted_count=Event.accepted_count + 1)
    ).rowcount
    return taken == 1


def accept(
    session: Session, token_digest: str, *, email: str, full_name: str, now: datetime
) -> EventGuest:
    """Yes: a place if one is free, else the waiting list (status waiting, in order)."""
    guest, event = _answering(session, token_digest, email, full_name, now)
    if guest.status in (EventGuestStatus.ACCEPTED, EventGuestStatus.WAITING):
        session.add(guest)
        return guest  # a second click changes nothing
    if _take_place(session, event):
        guest.status = EventGuestStatus.ACCEPTED.value
        guest.waiting_since = None
    else:
        guest.status = EventGuestStatus.WAITING.value
        guest.waiting_since = now
    guest.answered_at = now
    session.add(guest)
    session.flush()
    _emit(session, "EVENT_GUEST_ACCEPTED", event, guest, now)
    return guest


def decline(
    session: Session, token_digest: str, *, email: str, full_name: str, now: datetime
) -> EventGuest:
    """No: an accepted guest's place goes to the first on the waiting list."""
    guest, event = _answering(session, token_digest, email, full_name, now)
    if guest.status == EventGuestStatus.DECLINED:
        session.add(guest)
        return guest
    was_seated = guest.status == EventGuestStatus.ACCEPTED
    guest.status = EventGuestStatus.DECLINED.value
    guest.waiting_since = None
    guest.answered_at = now
    session.add(guest)
    session.flush()
    if was_seated:
        session.execute(
            update(Event)
            .where(Event.id == event.id, Event.accepted_count > 0)
            .values(accepted_count=Event.accepted_count - 1)
        )
    _emit(session, "EVENT_GUEST_DECLINED", event, guest, now)
    if was_seated:
        _promote(session, event, now)
    return guest


def _promote(session: Session, event: Event, now: datetime) -> int:
    """Give free places to the waiting list, earliest first; each promoted guest is told."""
    promoted = 0
    while True:
        first = session.exec(
            select(EventGuest)
            .where(EventGuest.event_id == event.id, EventGuest.status == EventGuestStatus.WAITING)
            .order_by(EventGuest.waiting_since, EventGuest.id)
            .limit(1)
        ).first()
        if first is None or not _take_place(session, event):
            return promoted
        first.status = EventGuestStatus.ACCEPTED.value
        first.waiting_since = None
        first.updated_at = now
        session.add(first)
        session.flush()
        _mail(session, "event_place_opened", event, first.id, now)
        _emit(session, "EVENT_GUEST_ACCEPTED", event, first, now)
        promoted += 1


@dataclass(frozen=True)
class GuestRow:
    guest: EventGuest
    host_name: str
    host_email: str


def guest_list(
    session: Session,
    actor: Member,
    event: Event,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[GuestRow]:
    """Who is invited and who brought them, in one query (ix_event_guest_event_id), in
    the order invited; a page of `limit` after the guest id `after` (keyset), or all of
    them (the CSV, the API)."""
    require(may_manage_event(actor, event))
    statement = (
        select(EventGuest, Member.full_name, Member.email)
        .join(Member, Member.id == EventGuest.host_id)
        .where(EventGuest.event_id == event.id)
        .order_by(EventGuest.id)
    )
    if after is not None:
        statement = statement.where(EventGuest.id > after)
    if limit is not None:
        statement = statement.limit(limit)
    return [GuestRow(*row) for row in session.exec(statement).all()]


def my_guests(session: Session, actor: Member, event: Event) -> list[EventGuest]:
    return list(
        session.exec(
            select(EventGuest)
            .where(EventGuest.event_id == event.id, EventGuest.host_id == actor.id)
            .order_by(EventGuest.id)
        )
    )


def counts(session: Session, event: Event) -> dict[str, int]:
    rows = session.exec(
        select(EventGuest.status, func.count())
        .where(EventGuest.event_id == event.id)
        .group_by(EventGuest.status)
    ).all()
    found = {status.value: 0 for status in EventGuestStatus}
    found.update(dict(rows))
    return found


# --- after the commit -------------------------------------------------------------------------


def _mail(
    session: Session,
    topic: str,
    event: Event,
    guest_id: int | None,
    now: datetime,
    suffix: str = "",
) -> None:
    guest_public = session.get(EventGuest, guest_id)
    assert guest_public is not None
    enqueue_email(
        session,
        topic,
        f"{topic}-{guest_public.public_id}{'-' + suffix if suffix else ''}",
        now,
        organization_id=event.organization_id,
        event_id=event.id,
        guest_id=guest_id,
    )


API_STATUS = {
    EventGuestStatus.INVITED: "INVITED",
    EventGuestStatus.ACCEPTED: "ACCEPTED",
    EventGuestStatus.WAITING: "WAITING",
    EventGuestStatus.DECLINED: "DECLINED",
}


def _emit(
    session: Session, event_type: str, event: Event, guest: EventGuest, now: datetime
) -> None:
    host = session.get(Member, guest.host_id)
    emit(
        session,
        event.organization_id,
        event_type,
        {
            "eventId": event.public_id,
            "guestId": guest.public_id,
            "inviterId": host.public_id if host else None,
            "email": guest.email,
            "status": API_STATUS[EventGuestStatus(guest.status)],
            "startsAt": rfc3339(event.starts_at),
        },
        now,
    )


# --- a guest who joins the organisation -------------------------------------------------------


def join_offer(session: Session, view: GuestView) -> str | None:
    """Why a guest can't join from the event's page (None: they can). A guest who said yes
    may join, as a referral of the member who brought them, while that member may still
    invite and the address has no account yet."""
    if view.guest.status not in (EventGuestStatus.ACCEPTED, EventGuestStatus.WAITING):
        return "Accept the invitation to the event first."
    if not may_send_invitations(view.host, settings_for(session, view.event.organization_id)):
        return (
            f"{view.host.full_name} can't invite new members at the moment, so joining "
            "from this event isn't open."
        )
    if email_taken(session, view.guest.email):
        return f"{view.guest.email} already has an account. Log in instead."
    return None


def join_as_member(
    session: Session,
    token_digest: str,
    *,
    full_name: str,
    password: str,
    now: datetime,
    device_digest: str | None = None,
) -> tuple[Member, GuestView]:
    """The guest becomes a member linked to the member who brought them: an ACCEPTED
    invitation with source `event` goes through the same completion as every join
    (portal.invites.service.complete_acceptance), so counts, rewards and webhooks treat it
    as a referral."""
    view = open_guest_link(session, token_digest)
    if (why_not := join_offer(session, view)) is not None:
        if "already has an account" in why_not:
            raise AccountExists(why_not, field="email")
        raise NotAllowed(why_not)
    organization = session.get(Organization, view.event.organization_id)
    assert organization is not None
    invitation = Invitation(
        organization_id=view.event.organization_id,
        unit_id=view.host.unit_id,
        inviter_id=view.host.id,
        email=view.guest.email,
        full_name=(full_name or "").strip()[:MAX_NAME],
        # No secret of its own (the guest came with the event's token); unique, never empty.
        secret_digest=digest(secrets.token_urlsafe(32)),
        status=InvitationStatus.ACCEPTED.value,
        created_at=now,
        updated_at=now,
        sent_at=now,
        expires_at=now,
        first_visited_at=now,
        accepted_at=now,
        delivery_status=DeliveryStatus.SENT.value,  # nothing to deliver
        source=InvitationSource.EVENT.value,
    )
    session.add(invitation)
    session.flush()
    member = invites.complete_acceptance(
        session,
        invitation,
        organization,
        email=view.guest.email,
        full_name=full_name,
        password=password,
        now=now,
        reach=None,  # the event's e-mail reached this address
        device_digest=device_digest,
    )
    return member, view
