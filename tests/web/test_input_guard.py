"""Input no page or API can store: NUL characters are refused up front, never a 500."""

from __future__ import annotations

from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org


def test_a_nul_character_in_a_form_or_query_is_refused(client, session):
    login(client, make_member(session, make_org(session)).email)
    response = client.post(
        "/invites",
        data={"email": "a\x00@example.org", "csrf_token": csrf_token(client, "/invites")},
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    assert client.get("/invites?inviter=mb-\x00").status_code == 422


def test_a_nul_character_in_a_login_attempt_is_refused(client):
    response = client.post(
        "/login", data={"email": "\x00", "password": "x", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 422


def test_the_api_refuses_nul_characters_as_problems(client, session):
    from portal.roles import Role
    from tests.web.api_support import Api, field_errors, make_token

    owner = make_member(session, make_org(session), Role.ADMIN_TENANT)
    api = Api(client, make_token(session, owner))
    body = problem_of(api.post("/invites", json={"email": "a@example.org", "fullName": "\x00"}))
    assert body["status"] == 422
    assert "NUL" in field_errors(body)["fullName"]
    body = problem_of(api.get("/invites?inviterId=mb-%00"))
    assert body["status"] == 422 and "NUL" in field_errors(body)["inviterId"]


def problem_of(response):
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()
