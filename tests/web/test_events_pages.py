"""The event pages: create, list, invite a guest, the guest's page (token out of the
address bar), the organisers' guest list and its CSV, at a query count that doesn't grow."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from portal.clock import utcnow
from portal.events import service as events
from portal.events import views as event_views
from portal.models import Event, EventGuest, Member
from portal.roles import Role
from tests.conftest import csrf_token, sign_in
from tests.factories import make_member, make_unit
from tests.query_count import count_queries

LATER = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")


def switch_to(client, member) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    sign_in(client, member)


def event_form(**changes) -> dict[str, str]:
    values = {
        "title": "Summer party",
        "starts_at": f"{LATER}T18:00",
        "ends_at": f"{LATER}T22:00",
        "timezone": "Europe/Berlin",
        "place": "Town hall",
        "online_url": "",
        "description": "Bring a friend.",
        "capacity": "1",
        "guests_per_member": "1",
    }
    values.update(changes)
    return values


def make_event(session, organiser, **changes) -> Event:
    data = {
        "title": "Summer party",
        "starts_local": f"{LATER}T18:00",
        "ends_local": f"{LATER}T22:00",
        "timezone": "Europe/Berlin",
        "place": "Town hall",
        "capacity": 1,
        "guests_per_member": 3,
        **changes,
    }
    event = events.create_event(session, organiser, events.EventInput(**data), utcnow())
    session.commit()
    return event


def test_an_organiser_creates_an_event_and_members_see_it(client, session, org, admin):
    sign_in(client, admin)
    token = csrf_token(client, "/events/new")
    response = client.post("/events/new", data={**event_form(), "csrf_token": token})
    assert response.status_code == 302
    event = session.exec(select(Event)).one()
    assert response.headers["Location"] == f"/events/{event.public_id}"
    member = make_member(session, org, Role.USER)
    switch_to(client, member)
    page = client.get("/events").get_data(as_text=True)
    assert "Summer party" in page and '<a href="/events">Events</a>' in page
    assert client.get("/events/new").status_code == 403


def test_an_end_before_the_start_is_refused_next_to_the_field(client, session, admin):
    sign_in(client, admin)
    token = csrf_token(client, "/events/new")
    response = client.post(
        "/events/new",
        data={**event_form(ends_at=f"{LATER}T17:00"), "csrf_token": token},
    )
    assert response.status_code == 422
    assert "The end must be after the start." in response.get_data(as_text=True)
    assert session.exec(select(Event)).first() is None


def test_editing_below_the_accepted_guests_says_so(client, session, admin):
    event = make_event(session, admin)
    _guest, token = events.invite_guest(
        session, admin, event, email="g@example.org", full_name="G", message="", now=utcnow()
    )
    session.commit()
    events.accept(session, events.digest(token), email="g@example.org", full_name="G", now=utcnow())
    session.commit()
    sign_in(client, admin)
    path = f"/events/{event.public_id}/edit"
    response = client.post(
        path, data={**event_form(capacity="0"), "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 422  # below one: the service's range
    response = client.post(
        path,
        data={**event_form(capacity="1", title="Renamed"), "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Event, event.id).title == "Renamed"


def test_a_member_invites_a_guest_who_answers_without_an_account(client, session, org, admin):
    event = make_event(session, admin)
    member = make_member(session, org, Role.USER, full_name="Max Member")
    sign_in(client, member)
    path = f"/events/{event.public_id}"
    response = client.post(
        f"{path}/guests",
        data={
            "email": "guest@example.org",
            "full_name": "Gina Guest",
            "message": "Come along!",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 302
    again = client.post(
        f"{path}/guests",
        data={
            "email": "guest@example.org",
            "full_name": "",
            "message": "",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert again.status_code == 409
    assert "guest@example.org is already invited to this event." in again.get_data(as_text=True)
    guest = session.exec(select(EventGuest)).one()
    assert guest.host_id == member.id

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    opened = client.get(f"/guest?token={events.token_of(guest)}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/guest"
    page = client.get("/guest").get_data(as_text=True)
    assert "Max Member</strong> invited you" in page
    answered = client.post(
        "/guest/accept",
        data={
            "full_name": "Gina Guest",
            "email": "guest@example.org",
            "csrf_token": csrf_token(client, "/guest"),
        },
    )
    assert answered.status_code == 302
    assert "you have a place" in client.get("/guest").get_data(as_text=True)


def test_a_late_guest_sees_this_event_is_full(client, session, admin):
    event = make_event(session, admin)
    tokens = []
    for n in (1, 2):
        _guest, token = events.invite_guest(
            session,
            admin,
            event,
            email=f"g{n}@example.org",
            full_name="",
            message="",
            now=utcnow(),
        )
        tokens.append(token)
    session.commit()
    events.accept(
        session, events.digest(tokens[0]), email="g1@example.org", full_name="One", now=utcnow()
    )
    session.commit()
    client.get(f"/guest?token={tokens[1]}")
    client.post(
        "/guest/accept",
        data={
            "full_name": "Two",
            "email": "g2@example.org",
            "csrf_token": csrf_token(client, "/guest"),
        },
    )
    assert "This event is full" in client.get("/guest").get_data(as_text=True)


def test_an_unknown_guest_link_has_its_own_page(client):
    client.get("/guest?token=nothing-like-it")
    response = client.get("/guest")
    assert response.status_code == 404
    assert "Guest link not found" in response.get_data(as_text=True)


def test_the_guest_list_shows_who_brought_whom_and_its_csv_writes_formulas_as_text(
    client, session, org, admin, engine
):
    event = make_event(session, admin, guests_per_member=50)
    member = make_member(session, org, Role.USER, full_name="Max Member")
    events.invite_guest(
        session,
        member,
        event,
        email="f@example.org",
        full_name="=HYPERLINK(1)",
        message="",
        now=utcnow(),
    )
    session.commit()
    sign_in(client, member)
    assert "Guest list" not in client.get(f"/events/{event.public_id}").get_data(as_text=True)
    assert client.get(f"/events/{event.public_id}/guests.csv").status_code == 403
    switch_to(client, admin)
    page = client.get(f"/events/{event.public_id}").get_data(as_text=True)
    assert "Guest list" in page and "Max Member" in page
    csv = client.get(f"/events/{event.public_id}/guests.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1),f@example.org,invited,Max Member," in csv

    with count_queries(engine) as few:
        client.get(f"/events/{event.public_id}")
    for n in range(20):
        events.invite_guest(
            session,
            admin,
            event,
            email=f"many{n}@example.org",
            full_name="",
            message="",
            now=utcnow(),
        )
    session.commit()
    with count_queries(engine) as many:
        client.get(f"/events/{event.public_id}")
    assert len(many) == len(few), "a query per guest"


def test_another_units_event_is_not_found(client, session, org):
    north, south = make_unit(session, org), make_unit(session, org)
    hr = make_member(session, org, Role.HR_LOCAL, unit=north)
    event = make_event(session, hr)
    sign_in(client, make_member(session, org, Role.USER, unit=south))
    assert client.get(f"/events/{event.public_id}").status_code == 404


def test_a_guest_who_accepted_joins_the_organisation_from_the_guest_page(
    client, session, org, admin
):
    event = make_event(session, admin)
    member = make_member(session, org, Role.USER, full_name="Max Member")
    _guest, token = events.invite_guest(
        session,
        member,
        event,
        email="gina@example.org",
        full_name="Gina",
        message="",
        now=utcnow(),
    )
    session.commit()
    client.get(f"/guest?token={token}")
    page = client.get("/guest").get_data(as_text=True)
    assert "join-heading" not in page  # not before accepting
    client.post(
        "/guest/accept",
        data={
            "full_name": "Gina",
            "email": "gina@example.org",
            "csrf_token": csrf_token(client, "/guest"),
        },
    )
    page = client.get("/guest").get_data(as_text=True)
    assert f"Join {org.name}</button>" in page
    short = client.post(
        "/guest/join",
        data={
            "join-full_name": "Gina Guest",
            "join-password": "short",
            "csrf_token": csrf_token(client, "/guest"),
        },
    )
    assert short.status_code == 422
    assert "Choose a password of at least" in short.get_data(as_text=True)
    joined = client.post(
        "/guest/join",
        data={
            "join-full_name": "Gina Guest",
            "join-password": "a long enough password",
            "csrf_token": csrf_token(client, "/guest"),
        },
    )
    assert joined.status_code == 302
    new = session.exec(select(Member).where(Member.email == "gina@example.org")).one()
    assert new.invited_by_id == member.id
    assert "You joined at Max Member&#39;s invitation" in client.get("/").get_data(as_text=True)


def test_the_guest_list_pages_by_keyset(client, session, org, admin, monkeypatch):
    monkeypatch.setattr(event_views, "GUEST_PAGE", 5)
    event = make_event(session, admin, guests_per_member=20)
    host = make_member(session, org, Role.USER)  # so the admin's own guests don't list them
    for n in range(7):
        events.invite_guest(
            session,
            host,
            event,
            email=f"p{n}@example.org",
            full_name="",
            message="",
            now=utcnow(),
        )
    session.commit()
    sign_in(client, admin)
    first = client.get(f"/events/{event.public_id}").get_data(as_text=True)
    assert "p4@example.org" in first and "p5@example.org" not in first
    (after,) = re.findall(r"after=(\d+)#guests-heading", first)
    second = client.get(f"/events/{event.public_id}?after={after}").get_data(as_text=True)
    assert "p5@example.org" in second and "p6@example.org" in second
    assert "p4@example.org" not in second and "More guests" not in second
    assert client.get(f"/events/{event.public_id}?after=x").status_code == 404
