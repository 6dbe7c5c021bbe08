"""What each role is offered, and the explanatory 403 at /invites."""

from __future__ import annotations

import pytest

from portal.roles import Role
from tests.conftest import login
from tests.factories import make_member, make_org, make_unit, settings


def nav_links(client) -> str:
    return client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", list(Role))
def test_everyone_may_invite_by_default(client, session, org, role):
    login(client, make_member(session, org, role, unit=make_unit(session, org)).email)
    assert '<a href="/invites">Invite</a>' in nav_links(client)
    assert client.get("/invites").status_code == 200


def test_below_the_level_no_invite_link_and_an_explanatory_403(client, session, org):
    settings(session, org, min_inviter_role=Role.HR_TENANT.value)
    login(client, make_member(session, org, Role.USER, unit=make_unit(session, org)).email)
    assert '<a href="/invites">Invite</a>' not in nav_links(client)
    response = client.get("/invites")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Organisation-wide HR and admins can invite" in page
    assert "you can&#39;t send invitations" in page


def test_hr_below_the_level_reach_the_dashboard_with_the_explanation_instead_of_the_form(
    client, session, org
):
    """They still see and revoke the invitations in their scope (DESIGN §4)."""
    settings(session, org, min_inviter_role=Role.HR_TENANT.value)
    login(client, make_member(session, org, Role.HR_LOCAL, unit=make_unit(session, org)).email)
    assert '<a href="/invites">Invite</a>' in nav_links(client)
    response = client.get("/invites")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "you can&#39;t send invitations" in page
    assert "Send invitation</button>" not in page


def test_disabled_invitations_leave_admins_the_dashboard_with_a_notice(client, session, org):
    settings(session, org, enabled=False)
    login(client, make_member(session, org, Role.ADMIN_TENANT).email)
    assert '<a href="/invites">Invite</a>' in nav_links(client)
    page = client.get("/invites").get_data(as_text=True)
    assert "turned off" in page and "Send invitation</button>" not in page


def test_only_admin_tenant_sees_settings(client, session, org):
    login(client, make_member(session, org, Role.ADMIN_LOCAL).email)
    assert "/admin/settings/invitations" not in nav_links(client)


def test_the_organisations_branding_is_on_every_page(client, session):
    org = make_org(
        session, "Branded <Club>", brand_color="#aa3300", logo_url="https://example.org/logo.png"
    )
    login(client, make_member(session, org).email)
    page = nav_links(client)
    assert "Branded &lt;Club&gt;" in page
    assert "--brand: #aa3300" in page
    assert 'src="https://example.org/logo.png"' in page


def test_security_headers_are_set(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("path", "tab"),
    [
        ("/admin/settings/invitations", "Invitations"),
        ("/admin/settings/email-templates", "E-mail templates"),
        ("/admin/settings/email-templates/new", "E-mail templates"),  # a screen's inner page
        ("/admin/settings/api-tokens", "API tokens"),
        ("/admin/settings/webhooks", "Webhooks"),
        ("/admin/settings/delivery", "Delivery"),
        ("/admin/settings/audit", "Audit log"),
    ],
)
def test_settings_pages_mark_their_own_tab_only(client, session, org, path, tab):
    login(client, make_member(session, org, Role.ADMIN_TENANT).email)
    page = client.get(path).get_data(as_text=True)
    assert page.count('aria-current="page"') == 1
    assert f'aria-current="page">{tab}</a>' in page
