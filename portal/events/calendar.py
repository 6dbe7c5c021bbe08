"""The .ics calendar entry of an event, built with the icalendar package.

One UID per event (its public id at the portal's host), so an edit (a higher SEQUENCE)
replaces the entry in the guest's calendar instead of adding a second one. Times carry
their TZID with a VTIMEZONE, so calendars show the event at the organiser's clock time.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as CalendarEvent

from portal.email_addresses import one_line
from portal.events.service import local_time
from portal.models import Event, EventGuest, Member


def uid_of(event: Event, base_url: str) -> str:
    return f"{event.public_id}@{urlsplit(base_url).hostname or 'portal'}"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(one_line(name) or email)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def ics(
    event: Event,
    organizer: Member,
    guest: EventGuest,
    *,
    base_url: str,
    guest_url: str,
    now: datetime,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Member Portal//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    entry = CalendarEvent()
    entry.add("uid", uid_of(event, base_url))
    entry.add("sequence", event.sequence)
    entry.add("dtstamp", now)
    entry.add("dtstart", local_time(event.starts_at, event.timezone))
    entry.add("dtend", local_time(event.ends_at, event.timezone))
    entry.add("summary", one_line(event.title))
    where = event.place or event.online_url
    if where:
        entry.add("location", one_line(where))
    if event.online_url:
        entry.add("url", event.online_url)
    entry.add("description", f"{event.description}\n\nYour answer: {guest_url}".strip())
    entry["organizer"] = _address(organizer.email, organizer.full_name)
    entry.add(
        "attendee",
        _address(guest.email, guest.full_name, ROLE="REQ-PARTICIPANT", RSVP="TRUE"),
    )
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()
