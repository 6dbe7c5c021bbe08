"""Every Settings screen is guarded: the `settings` blueprint signs in, each screen's own
blueprint adds its rule. A screen added without a rule fails here."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member

# The screen's own words for a refusal (portal.policy).
REFUSALS = {
    "settings.audit": "Only organisation admins can read the audit log.",
}
ADMINS_ONLY = "Only organisation admins can change the organisation&#39;s settings."


def settings_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every route under the settings blueprint, with
    placeholder values for its parameters (the guard answers before any lookup)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("settings."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "x").replace(f"<int:{name}>", "1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, path))
    return routes


def test_every_settings_route_sends_strangers_to_the_login_page(app: Flask, client):
    token = csrf_token(client)
    for endpoint, method, path in settings_routes(app):
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 302, endpoint
        assert response.headers["Location"].startswith("/login"), endpoint


@pytest.mark.parametrize("role", [Role.USER, Role.HR_TENANT, Role.ADMIN_LOCAL])
def test_every_settings_route_refuses_members_below_admin_tenant(
    app: Flask, client, session, org, role
):
    login(client, make_member(session, org, role).email)
    token = csrf_token(client, "/")
    for endpoint, method, path in settings_routes(app):
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, endpoint
        words = REFUSALS.get(endpoint.rpartition(".")[0], ADMINS_ONLY)
        assert words in response.get_data(as_text=True), endpoint
