"""The guests' e-mails (invited, updated, a place opened up), rendered by the outbox
worker, each with the event's .ics entry. The guest link is unsealed from the guest's row
here, in the worker, and nowhere else."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from sqlmodel import Session

from portal.delivery.message import Attachment, RenderedEmail, render_email
from portal.events.calendar import ics
from portal.events.service import local_time, token_of
from portal.models import Event, EventGuest, Member, Organization, OutboxItem

SUBJECTS = {
    "event_guest_invited": "{host} invites you to {title}",
    "event_updated": "Updated: {title}",
    "event_place_opened": "A place opened up: you're on the list for {title}",
}


def when_text(event: Event) -> str:
    starts = local_time(event.starts_at, event.timezone)
    ends = local_time(event.ends_at, event.timezone)
    end_format = "%H:%M" if starts.date() == ends.date() else "%a %d %b %Y, %H:%M"
    return f"{starts:%a %d %b %Y, %H:%M} – {ends.strftime(end_format)} ({event.timezone})"


def render_event_email(
    session: Session,
    env: Environment,
    item: OutboxItem,
    base_url: str,
    secret: str | None,
    prepared: Any = None,
) -> RenderedEmail:
    guest = session.get(EventGuest, item.payload["guest_id"])
    event = session.get(Event, item.payload["event_id"])
    assert guest is not None and event is not None
    host = session.get(Member, guest.host_id)
    organizer = session.get(Member, event.organizer_id)
    org = session.get(Organization, event.organization_id)
    assert host is not None and organizer is not None and org is not None
    guest_url = f"{base_url}/guest?token={token_of(guest)}"
    subject = SUBJECTS[item.topic].format(host=host.full_name, title=event.title)
    context = {
        "topic": item.topic,
        "org": org,
        "event": event,
        "guest": guest,
        "host": host,
        "when": when_text(event),
        "guest_url": guest_url,
    }
    calendar = ics(
        event, organizer, guest, base_url=base_url, guest_url=guest_url, now=item.created_at
    )
    attachment = Attachment("event.ics", "text/calendar; method=REQUEST; charset=utf-8", calendar)
    return render_email(env, "event_guest", guest.email, subject, (attachment,), **context)
