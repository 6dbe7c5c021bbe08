"""Login, logout, redirects and the login rate limit."""

from __future__ import annotations

import pytest

from portal import passwords
from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org


@pytest.fixture
def member(session):
    return make_member(session, make_org(session), Role.USER, email="max@example.org")


def test_login_with_the_right_password_signs_in(client, member):
    response = login(client, "Max@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome, " in client.get("/").get_data(as_text=True)


def test_wrong_password_says_so_without_revealing_which_part_was_wrong(client, member):
    response = login(client, member.email, "wrong password")
    assert response.status_code == 401
    assert "don&#39;t match an account" in response.get_data(as_text=True)
    unknown = login(client, "nobody@example.org", "wrong password")
    assert "don&#39;t match an account" in unknown.get_data(as_text=True)


def test_next_is_followed_when_it_is_our_own_path(client, member):
    token = csrf_token(client)
    response = client.post(
        "/login?next=/admin/settings/invitations",
        data={"email": member.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/settings/invitations"


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_to_another_site_is_not_followed(client, member, target):
    token = csrf_token(client)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": member.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_repeated_failures_on_one_account_are_rate_limited(client, member):
    for _ in range(5):
        assert login(client, member.email, "wrong password").status_code == 401
    response = login(client, member.email, "correct horse battery")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts. Try again in 15 minutes." in page, page[-600:]
    assert int(response.headers["Retry-After"]) > 0


def test_failures_from_one_address_are_rate_limited_across_accounts(app, client, member):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 10 minutes"
    for n in range(3):
        login(client, f"guess{n}@example.org", "wrong password")
    response = login(client, member.email, "correct horse battery")
    assert response.status_code == 429
    assert "Try again in 10 minutes" in response.get_data(as_text=True)


def test_successful_logins_do_not_count_towards_the_limit(client, member):
    for _ in range(8):
        assert login(client, member.email).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_logout_needs_a_post_with_the_csrf_token(client, member):
    login(client, member.email)
    assert client.get("/logout").status_code == 200  # a confirmation page, still signed in
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 400
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_lax(client, member):
    response = login(client, member.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_disabled_members_cannot_log_in(client, session, member):
    member.status = "disabled"
    session.add(member)
    session.commit()
    response = login(client, member.email)
    assert response.status_code == 401
    assert "disabled" in response.get_data(as_text=True)


def test_behind_a_proxy_the_limit_counts_each_client_not_the_proxy(app, client, member):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 10 minutes"
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # what PORTAL_CONFIG_PROXY_FIX=1 does
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    for n in range(3):
        client.post(
            "/login",
            headers=attacker,
            data={
                "email": f"guess{n}@example.org",
                "password": "x",
                "csrf_token": csrf_token(client),
            },
        )
    blocked = client.post(
        "/login",
        headers=attacker,
        data={
            "email": member.email,
            "password": "correct horse battery",
            "csrf_token": csrf_token(client),
        },
    )
    assert blocked.status_code == 429
    someone_else = client.post(
        "/login",
        headers={"X-Forwarded-For": "198.51.100.7"},
        data={
            "email": member.email,
            "password": "correct horse battery",
            "csrf_token": csrf_token(client),
        },
    )
    assert someone_else.status_code == 302


def test_proxy_fix_is_switched_on_by_configuration(database_url):
    from portal import create_app
    from tests.conftest import app_config

    app = create_app(app_config(database_url, PROXY_FIX=1))
    assert type(app.wsgi_app).__name__ == "ProxyFix"
    app.extensions["portal.engine"].dispose()


# --- sessions end when they should ----------------------------------------------------------


def copy_of_session(app, client):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_logout_ends_a_copied_session(app, client, member):
    login(client, member.email)
    thief = copy_of_session(app, client)
    assert signed_in(thief)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = thief.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    # Logging in again works, with a session of its own.
    assert login(client, member.email).status_code == 302
    assert signed_in(client) and not signed_in(thief)


def test_a_password_change_ends_sessions_copied_before_it(app, client, session, member):
    from portal.auth.service import change_password
    from portal.clock import utcnow

    login(client, member.email)
    thief = copy_of_session(app, client)
    change_password(session, member, "a brand new passphrase", utcnow())
    session.commit()
    assert not signed_in(thief) and not signed_in(client)
    assert login(client, member.email).status_code == 401  # the old password is gone
    assert login(client, member.email, "a brand new passphrase").status_code == 302


def test_deactivation_ends_sessions_even_after_reactivation(app, client, session, member):
    from portal.auth.service import set_member_status
    from portal.clock import utcnow
    from portal.models import Organization
    from portal.roles import MemberStatus

    admin = make_member(
        session, session.get(Organization, member.organization_id), Role.ADMIN_TENANT
    )
    login(client, member.email)
    thief = copy_of_session(app, client)
    set_member_status(session, admin, member, MemberStatus.DISABLED, utcnow())
    session.commit()
    assert not signed_in(thief)
    set_member_status(session, admin, member, MemberStatus.ACTIVE, utcnow())
    session.commit()
    assert not signed_in(thief) and not signed_in(client)
    assert login(client, member.email).status_code == 302


def test_a_session_from_before_session_generations_is_refused(app, client, member):
    login(client, member.email)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = member.public_id  # what get_id() returned until now
    assert not signed_in(client)


# --- CSRF tokens change with the session's owner ---------------------------------------------


def test_the_csrf_token_from_before_login_is_refused_after_it(client, member):
    before = csrf_token(client)
    login(client, member.email)
    stale = client.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400
    assert signed_in(client)
    fresh = csrf_token(client, "/")
    assert fresh != before
    assert client.post("/logout", data={"csrf_token": fresh}).status_code == 302


def test_logout_rotates_the_csrf_token(client, member):
    login(client, member.email)
    signed_in_token = csrf_token(client, "/")
    client.post("/logout", data={"csrf_token": signed_in_token})
    stale = client.post(
        "/login",
        data={
            "email": member.email,
            "password": "correct horse battery",
            "csrf_token": signed_in_token,
        },
    )
    assert stale.status_code == 400  # refused by CSRF protection, not a login
    assert not signed_in(client)
    assert login(client, member.email).status_code == 302


# --- the per-account limit -------------------------------------------------------------------


def test_every_spelling_of_an_address_shares_one_login_limit(client, member):
    spellings = [
        "max@ｅxample.org",  # full-width e: the lookup finds the account through it
        "MAX@EXAMPLE.ORG",
        " max@example.org ",
        "max@Example.ORG",
        "ｍax@example.org",  # full-width m: folded by NFKC
    ]
    for spelling in spellings:
        assert login(client, spelling, "wrong password").status_code == 401
    assert login(client, member.email).status_code == 429


def test_failures_from_another_address_do_not_lock_the_owner_out(app, member):
    attacker, owner = app.test_client(), app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(5):
        assert login(attacker, member.email, "wrong password").status_code == 401
    assert login(attacker, member.email).status_code == 429
    assert login(owner, member.email).status_code == 302


def test_a_remember_cookie_from_before_logout_is_refused_after_it(app, client, member):
    # The login form offers no "remember me" today; should one appear, Flask-Login's
    # remember cookie carries get_id() too, so the generation ends it with the session.
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        remember = encode_cookie(member.get_id())
    holder = app.test_client()
    holder.set_cookie("remember_token", remember)
    assert signed_in(holder)
    login(client, member.email)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    stale = app.test_client()
    stale.set_cookie("remember_token", remember)
    assert not signed_in(stale)


# --- the password hash's cost is configuration ---------------------------------------------


def test_a_hash_made_with_another_cost_is_replaced_at_login(database_url, session, member):
    from portal import create_app
    from tests.conftest import CHEAP_PASSWORD_HASHING, app_config

    old_hash = member.password_hash
    dearer = {**CHEAP_PASSWORD_HASHING, "PASSWORD_HASH_TIME_COST": 2}
    app = create_app(app_config(database_url, **dearer))
    try:
        assert passwords.needs_rehash(old_hash)  # the app's setting is the process's
        client = app.test_client()
        assert login(client, member.email).status_code == 302
        session.refresh(member)
        assert member.password_hash != old_hash
        assert ",t=2," in member.password_hash and not passwords.needs_rehash(member.password_hash)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
        assert login(client, member.email).status_code == 302  # the new hash verifies
    finally:
        app.extensions["portal.engine"].dispose()
        passwords.configure(*CHEAP_PASSWORD_HASHING.values())


def test_a_wrong_password_leaves_the_old_hash_alone(database_url, session, member):
    from portal import create_app
    from tests.conftest import CHEAP_PASSWORD_HASHING, app_config

    old_hash = member.password_hash
    app = create_app(
        app_config(database_url, **{**CHEAP_PASSWORD_HASHING, "PASSWORD_HASH_TIME_COST": 2})
    )
    try:
        assert login(app.test_client(), member.email, "not the password").status_code == 401
        session.refresh(member)
        assert member.password_hash == old_hash
    finally:
        app.extensions["portal.engine"].dispose()
        passwords.configure(*CHEAP_PASSWORD_HASHING.values())
