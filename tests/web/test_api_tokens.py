"""Settings → API tokens, and how the API authenticates, scopes and rate-limits a token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.api import tokens
from portal.clock import utcnow
from portal.models import ApiToken, Member
from portal.roles import MemberStatus, Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org
from tests.web.api_support import bearer, make_token, problem

URL = "/admin/settings/api-tokens"
NEW_TOKEN = re.compile(r'id="new-token" class="secret" value="(mpt_[\w-]+)"')
COPY_TOKEN = (
    '<button type="button" class="button small" hidden data-copy="new-token"'
    ' data-copy-status="new-token-copy-status">Copy token</button>'
)


def create_on_page(client, **fields):
    data = {"name": "Website", "scopes": ["read-invites", "create-invites"], **fields}
    return client.post(URL, data={**data, "csrf_token": csrf_token(client, URL)})


# --- the settings screen ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_only_organisation_admins_reach_the_tokens_screen(client, session, org, role):
    member = make_member(session, org, role)
    login(client, member.email)
    assert client.get(URL).status_code == 403


def test_the_screen_is_a_settings_tab_with_the_creation_form(admin_client):
    page = admin_client.get(URL).get_data(as_text=True)
    assert 'href="/admin/settings/api-tokens" aria-current="page">API tokens</a>' in page
    assert 'href="/admin/settings/invitations"' in page
    for text in (
        '<label for="name">Name</label>',
        '<label for="owner">Owner</label>',
        "<legend>Scopes</legend>",
        '<label for="expires_on">Expires on (optional)',
        "Create token",
        "No tokens yet",
    ):
        assert text in page
    for scope in tokens.SCOPES:
        assert f'name="scopes" value="{scope}"' in page


def test_a_created_token_is_shown_once_and_stored_only_as_a_digest(admin_client, session, admin):
    response = create_on_page(admin_client, owner=admin.public_id)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = NEW_TOKEN.search(page).group(1)
    assert "Copy it now: it won't be shown again." in page
    assert COPY_TOKEN in page  # static/js/portal.js copies the field the button names
    assert 'id="new-token-copy-status" class="copy-status" role="status" aria-live="polite"' in page

    stored = session.exec(select(ApiToken)).one()
    assert stored.token_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:12] and len(secret) > 40
    assert stored.scopes == ["read-invites", "create-invites"]
    assert stored.owner_id == admin.id and stored.expires_at is None
    assert secret not in str(stored.model_dump())

    again = admin_client.get(URL).get_data(as_text=True)
    assert secret not in again and 'id="new-token"' not in again and COPY_TOKEN not in again
    assert f"{stored.prefix}…" in again and "Website" in again and "Never" in again


def test_the_owner_can_be_another_member_and_the_expiry_is_the_end_of_that_day(
    admin_client, session, org
):
    owner = make_member(session, org, Role.USER, full_name="Olga Owner")
    day = (utcnow() + timedelta(days=30)).date()
    create_on_page(
        admin_client, owner=owner.public_id, expires_on=day.isoformat(), scopes=["read-invites"]
    )
    stored = session.exec(select(ApiToken)).one()
    assert stored.owner_id == owner.id
    assert stored.expires_at.date() == day + timedelta(days=1)
    assert (stored.expires_at.hour, stored.expires_at.minute) == (0, 0)
    assert "Olga Owner" in admin_client.get(URL).get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Give the token a name"),
        ({"scopes": []}, "Choose at least one of the listed scopes."),
        ({"scopes": ["read-invites", "admin-everything"]}, "Choose at least one of the listed"),
        ({"owner": "mb-nobody"}, "Choose a member of your organisation as the owner."),
        ({"expires_on": "2001-01-01"}, "Choose an expiry date from today on."),
        ({"expires_on": "next week"}, "Not a valid date value."),
        ({"expires_on": "9999-12-31"}, "Choose an earlier expiry date."),
    ],
)
def test_invalid_tokens_are_refused_next_to_the_field(admin_client, session, fields, message):
    response = create_on_page(admin_client, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No token was created." in page and message in page
    assert session.exec(select(ApiToken)).first() is None


def test_a_member_of_another_organisation_cant_own_a_token(admin_client, session):
    stranger = make_member(session, make_org(session), Role.ADMIN_TENANT)
    response = create_on_page(admin_client, owner=stranger.public_id)
    assert response.status_code == 422
    assert session.exec(select(ApiToken)).first() is None


def test_revoking_asks_first_then_the_token_stops_working(admin_client, client, session, admin):
    secret = make_token(session, admin)
    token = session.exec(select(ApiToken)).one()
    confirm = admin_client.get(f"{URL}/{token.public_id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the token “Test integration”?" in confirm.get_data(as_text=True)
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None  # asking changes nothing

    response = admin_client.post(
        f"{URL}/{token.public_id}/revoke",
        data={"csrf_token": csrf_token(admin_client, URL)},
        follow_redirects=True,
    )
    assert "was revoked" in response.get_data(as_text=True)
    assert "Revoked" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is not None
    problem(client.get("/api/v1/invites", headers=bearer(secret)), 401, "token_revoked")


def test_revoking_needs_the_csrf_token(admin_client, session, admin):
    make_token(session, admin)
    token = session.exec(select(ApiToken)).one()
    assert admin_client.post(f"{URL}/{token.public_id}/revoke").status_code == 400
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


def test_another_organisations_token_cant_be_revoked(admin_client, session):
    other_admin = make_member(session, make_org(session), Role.ADMIN_TENANT)
    make_token(session, other_admin)
    token = session.exec(select(ApiToken)).one()
    assert admin_client.get(f"{URL}/{token.public_id}/revoke").status_code == 404
    response = admin_client.post(
        f"{URL}/{token.public_id}/revoke", data={"csrf_token": csrf_token(admin_client, URL)}
    )
    assert response.status_code == 404


# --- authentication ---------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/invites")
    problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Member Portal API"'


@pytest.mark.parametrize(
    "header",
    ["Bearer mpt_not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer", "mpt_without_scheme"],
)
def test_a_wrong_token_is_401(client, header):
    response = client.get("/api/v1/invites", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_an_unknown_token_says_invalid_token(client, session, admin):
    make_token(session, admin)
    response = client.get("/api/v1/invites", headers=bearer("mpt_" + "x" * 43))
    problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_401(client, session, admin):
    secret = make_token(session, admin, expires_on=utcnow().date())
    assert client.get("/api/v1/invites", headers=bearer(secret)).status_code == 200
    token = session.exec(select(ApiToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.add(token)
    session.commit()
    problem(client.get("/api/v1/invites", headers=bearer(secret)), 401, "token_expired")


def test_a_token_whose_owner_was_disabled_is_401(client, session, org, admin):
    owner = make_member(session, org, Role.USER)
    secret = make_token(session, owner, admin=admin)
    owner = session.get(Member, owner.id)
    owner.status = MemberStatus.DISABLED.value
    session.add(owner)
    session.commit()
    problem(client.get("/api/v1/invites", headers=bearer(secret)), 401, "invalid_token")


def test_a_logged_in_browser_session_is_not_api_authentication(admin_client):
    response = admin_client.get("/api/v1/invites")
    problem(response, 401, "unauthorized")
    response = admin_client.post("/api/v1/invites", json={"email": "guest@example.org"})
    problem(response, 401, "unauthorized")
    assert "Set-Cookie" not in response.headers


def test_the_api_needs_no_csrf_token_with_a_bearer_token(client, session, admin):
    secret = make_token(session, admin)
    response = client.post(
        "/api/v1/invites", json={"email": "guest@example.org"}, headers=bearer(secret)
    )
    assert response.status_code == 201, response.get_json()


def test_each_use_is_recorded_at_most_once_a_minute(client, session, admin, monkeypatch):
    secret = make_token(session, admin)
    token = session.exec(select(ApiToken)).one()
    assert token.last_used_at is None
    client.get("/api/v1/invites", headers=bearer(secret))
    session.expire_all()
    first = session.get(ApiToken, token.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=5)

    client.get("/api/v1/invites", headers=bearer(secret))
    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at == first  # no write per request

    later = first + timedelta(minutes=2)
    monkeypatch.setattr("portal.api.views.utcnow", lambda: later)
    client.get("/api/v1/invites", headers=bearer(secret))
    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at == later


def test_a_failed_request_still_counts_as_a_use(client, session, admin):
    secret = make_token(session, admin)
    client.post("/api/v1/invites", json={"email": "not an address"}, headers=bearer(secret))
    session.expire_all()
    assert session.exec(select(ApiToken)).one().last_used_at is not None


# --- scopes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/api/v1/invites", "read-invites"),
        ("get", "/api/v1/invites/iv-0", "read-invites"),
        ("post", "/api/v1/invites", "create-invites"),
        ("post", "/api/v1/invites/iv-0/resend", "create-invites"),
        ("post", "/api/v1/invites/iv-0/revoke", "create-invites"),
        ("post", "/api/v1/members", "create-profiles"),
        ("get", "/api/v1/members/mb-0", "read-profiles"),
        ("get", "/api/v1/audit-events", "read-audit"),
        ("get", "/api/v1/members/mb-0/referral-link", "read-referral-links"),
    ],
)
def test_a_missing_scope_is_403_naming_it(client, session, admin, method, path, scope):
    others = [s for s in tokens.SCOPES if s != scope]
    secret = make_token(session, admin, scopes=others)
    response = getattr(client, method)(path, headers=bearer(secret), json={})
    body = problem(response, 403, "insufficient_scope")
    assert scope in body["detail"]
    assert f'scope="{scope}"' in response.headers["WWW-Authenticate"]


# --- rate limit ------------------------------------------------------------------------------


def test_requests_are_rate_limited_per_token_with_retry_after(client, app, session, admin):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first, second = make_token(session, admin), make_token(session, admin)
    for _ in range(3):
        assert client.get("/api/v1/invites", headers=bearer(first)).status_code == 200
    response = client.get("/api/v1/invites", headers=bearer(first))
    body = problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Try again in" in body["detail"]
    # Another token has its own allowance.
    assert client.get("/api/v1/invites", headers=bearer(second)).status_code == 200
