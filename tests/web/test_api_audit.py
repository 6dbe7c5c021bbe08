"""GET /api/v1/audit-events: the read-audit scope, its owner, filters and the cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from portal.api import tokens
from portal.audit import queries as audit_queries
from portal.clock import utcnow
from portal.errors import Invalid
from portal.invites import service as invites
from portal.models import AuditEvent, Member
from portal.roles import Role
from tests.factories import make_member, make_org, make_unit
from tests.web.api_support import Api, field_errors, make_token, problem
from tests.web.test_audit_log import add_events


@pytest.fixture
def api_scopes():
    return ["read-audit"]


def ids(rows) -> list[str]:
    return [r.public_id for r in reversed(rows)]


def listed_ids(body) -> list[str]:
    """The events listed, but the tokens' own creation (each test's token writes one)."""
    return [e["id"] for e in body["data"] if e["action"] != "token.created"]


def test_the_log_is_listed_newest_first_with_who_what_and_from_where(api, session, admin):
    rows = add_events(session, admin, 3)
    response = api.get("/audit-events")
    assert response.status_code == 200
    body = response.get_json()
    assert listed_ids(body) == ids(rows)
    assert body["data"][-1]["action"] == "token.created"  # the test's token, first of all
    assert body["nextCursor"] is None
    newest = body["data"][0]
    assert newest == {
        "id": rows[-1].public_id,
        "createdAt": rows[-1].created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "action": "template.created",
        "actor": {"id": admin.public_id, "fullName": "Ada Admin", "email": "ada@example.org"},
        "channel": "web",
        "apiTokenId": None,
        "ip": "198.51.100.1",
        "target": {"type": "template", "id": "tpl-2", "label": "Template 2"},
        "before": {},
        "after": {"name": "Template 2"},
    }


def test_the_scope_is_offered_and_its_absence_is_403_naming_it(client, session, admin):
    assert "read-audit" in tokens.SCOPES
    others = [s for s in tokens.SCOPES if s != "read-audit"]
    response = Api(client, make_token(session, admin, scopes=others)).get("/audit-events")
    body = problem(response, 403, "insufficient_scope")
    assert "read-audit" in body["detail"]
    assert 'scope="read-audit"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_a_token_whose_owner_is_not_an_admin_may_not_read_it(client, session, org, admin, role):
    owner = make_member(session, org, role, unit=make_unit(session, org), full_name="Olga")
    add_events(session, admin, 1)
    secret = make_token(session, owner, scopes=["read-audit"], admin=admin)
    body = problem(Api(client, secret).get("/audit-events"), 403, "not_allowed")
    assert "This token's owner, Olga, isn't an organisation admin" in body["detail"]
    assert "data" not in body


def test_another_organisations_events_are_never_listed(api, session, admin):
    stranger = make_member(session, make_org(session), Role.ADMIN_TENANT)
    mine = add_events(session, admin, 2)
    add_events(session, stranger, 2)
    assert listed_ids(api.get("/audit-events").get_json()) == ids(mine)


def test_filters_by_action_actor_and_creation_time(api, session, org, admin):
    other = make_member(session, org, Role.ADMIN_TENANT)
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    by_admin = add_events(session, admin, 3, start=start, step=timedelta(hours=1))
    by_other = add_events(session, other, 2, action="token.revoked", start=start)

    def listed(query: str) -> list[str]:
        response = api.get(f"/audit-events?{query}")
        assert response.status_code == 200, response.get_json()
        return listed_ids(response.get_json())

    assert listed("action=token.revoked") == ids(by_other)
    assert listed(f"actorId={admin.public_id}") == ids(by_admin)
    assert listed(
        "createdAfter=2026-03-01T13:00:00Z&createdBefore=2026-03-01T14:00:00%2B00:00"
    ) == ids(by_admin[1:2])
    assert listed(f"actorId={other.public_id}&action=template.created") == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("action=everything", "action", "There is no such action."),
        ("actorId=mb-0", "actorId", "There is no member with this id in your organisation."),
        ("createdAfter=yesterday", "createdAfter", "Use an RFC 3339 timestamp"),
        ("createdBefore=2026-03-01T10:00:00", "createdBefore", "with a time zone"),
        ("limit=0", "limit", "Use a whole number from 1 to 100."),
        ("limit=101", "limit", "Use a whole number from 1 to 100."),
        ("cursor=aXY6MTA", "cursor", "This cursor isn't one the portal gave out."),
        ("status=INVITED", "status", "There is no such parameter."),
    ],
)
def test_bad_parameters_are_field_errors(api, query, field, message):
    body = problem(api.get(f"/audit-events?{query}"), 422, "invalid")
    assert message in field_errors(body)[field]


def test_an_actor_of_another_organisation_is_not_found(api, session):
    stranger = make_member(session, make_org(session), Role.ADMIN_TENANT)
    body = problem(api.get(f"/audit-events?actorId={stranger.public_id}"), 422, "invalid")
    assert "actorId" in field_errors(body)


def test_the_cursor_walks_every_page_once(api, session, admin):
    rows = add_events(session, admin, 24)  # and the token's own creation: 25
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=10" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/audit-events?{query}").get_json()
        pages += 1
        seen += listed_ids(body)
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == ids(rows)
    # An invitation's cursor is not an audit cursor, and the reverse.
    invite_cursor = "aXY6MTA"
    with pytest.raises(Invalid, match="cursor"):
        audit_queries.decode_cursor(invite_cursor)


def test_a_member_created_through_the_api_is_logged_with_the_token_and_address(
    client, session, org, admin
):
    member = make_member(session, org, Role.USER)
    sent = invites.send_invitation(session, member, email="guest@example.org", now=utcnow())
    session.commit()
    secret = make_token(session, admin, scopes=["create-profiles"])
    token = session.exec(select(tokens.ApiToken).order_by(tokens.ApiToken.id.desc())).first()
    response = client.post(
        "/api/v1/members",
        json={
            "inviteId": sent.secret,
            "email": "guest@example.org",
            "fullName": "Gina Guest",
            "password": "long enough password",
        },
        headers={"Authorization": f"Bearer {secret}"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 201, response.get_json()
    created = session.exec(select(Member).where(Member.email == "guest@example.org")).one()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "member.created")).one()
    assert (event.actor_id, event.channel, event.api_token_id, event.ip) == (
        admin.id,
        "api",
        token.public_id,
        "203.0.113.9",
    )
    assert event.target_id == created.public_id
    assert event.after["password"] == "changed"
    assert "long enough password" not in str(event.after)
    assert created.password_hash not in str(event.after)
