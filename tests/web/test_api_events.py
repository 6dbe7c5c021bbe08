"""GET/POST /api/v1/events and GET /api/v1/events/{id}/guests: the web's rules, the API's
names, and their own scopes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from portal.clock import utcnow
from portal.events import service as events
from portal.models import Event
from portal.roles import Role
from tests.factories import make_member
from tests.web.api_support import Api, field_errors, make_token, problem

LATER = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")


def new_event(**changes) -> dict:
    return {
        "title": "Summer party",
        "startsAt": f"{LATER}T18:00",
        "endsAt": f"{LATER}T22:00",
        "timeZone": "Europe/Berlin",
        "place": "Town hall",
        "capacity": 10,
        "guestsPerMember": 2,
        **changes,
    }


def test_an_admin_token_creates_an_event_and_lists_it(api, session):
    created = api.post("/events", json=new_event())
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["id"].startswith("ev-") and body["timeZone"] == "Europe/Berlin"
    assert body["startsAt"].endswith("Z") and body["unit"] is None and body["accepted"] == 0
    listed = api.get("/events").get_json()
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert listed["nextCursor"] is None


def test_an_event_in_the_past_and_an_end_before_its_start_have_their_own_codes(api, session):
    past = problem(
        api.post("/events", json=new_event(startsAt="2020-01-01T10:00", endsAt="2020-01-01T12:00")),
        422,
        "event_in_past",
    )
    assert field_errors(past)["startsAt"] == "The start is in the past: pick a later time."
    backwards = problem(
        api.post("/events", json=new_event(endsAt=f"{LATER}T17:00")),
        422,
        "event_ends_before_start",
    )
    assert field_errors(backwards)["endsAt"] == "The end must be after the start."
    zone = problem(api.post("/events", json=new_event(timeZone="Mars/Olympus")), 422, "invalid")
    assert "timeZone" in field_errors(zone)
    assert session.exec(select(Event)).first() is None


def test_a_members_token_may_not_create_events(client, session, org):
    member = make_member(session, org, Role.USER)
    api = Api(client, make_token(session, member, scopes=["write-events"]))
    problem(api.post("/events", json=new_event()), 403, "not_allowed")


def test_the_scopes_are_their_own(client, session, admin):
    api = Api(client, make_token(session, admin, scopes=["read-invites"]))
    problem(api.get("/events"), 403, "insufficient_scope")
    problem(api.post("/events", json=new_event()), 403, "insufficient_scope")


def test_the_guest_list_names_who_brought_whom(api, session, org, admin):
    event = events.create_event(
        session,
        admin,
        events.EventInput(
            "Summer party",
            f"{LATER}T18:00",
            f"{LATER}T22:00",
            "Europe/Berlin",
            place="Town hall",
            capacity=5,
            guests_per_member=2,
        ),
        utcnow(),
    )
    member = make_member(session, org, Role.USER, full_name="Max Member")
    events.invite_guest(
        session, member, event, email="g@example.org", full_name="Gina", message="", now=utcnow()
    )
    session.commit()
    (guest,) = api.get(f"/events/{event.public_id}/guests").get_json()["data"]
    assert guest["email"] == "g@example.org" and guest["status"] == "INVITED"
    assert guest["invitedBy"] == {"id": member.public_id, "fullName": "Max Member"}
    problem(api.get("/events/ev-nothing/guests"), 404, "not_found")
