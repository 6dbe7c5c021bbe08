"""Settings → Audit log through the test client: the page, its filters, its "Older" pages,
who may see it, and its query budget."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from portal.audit import service as audit
from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org, make_unit
from tests.query_count import count_queries

URL = "/admin/settings/audit"
SETTINGS = "/admin/settings/invitations"
CLIENT_IP = "203.0.113.7"
ROW = re.compile(r'<tr id="audit-(ae-[0-9a-f]{32})">')
OLDER = re.compile(r'<a class="button secondary small" href="([^"]+)" rel="next">Older</a>')


@pytest.fixture
def org(session):
    return make_org(session, "Riverside")


def add_events(session, actor, count, *, action="template.created", start=None, step=None):
    """`count` rows straight into the table, oldest first (ids grow with time)."""
    start = start or utcnow() - timedelta(days=1)
    step = step or timedelta(minutes=1)
    rows = [
        AuditEvent(
            organization_id=actor.organization_id,
            actor_id=actor.id,
            actor_name=actor.full_name,
            actor_email=actor.email,
            channel="web",
            action=action,
            target_type="template",
            target_id=f"tpl-{n}",
            target_label=f"Template {n}",
            after={"name": f"Template {n}"},
            ip="198.51.100.1",
            created_at=start + n * step,
        )
        for n in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return rows


def listed(page: str) -> list[str]:
    return ROW.findall(page)


# --- the page ----------------------------------------------------------------------------------


def test_a_settings_change_shows_who_what_before_after_and_from_where(admin_client, session):
    form = {
        "enabled": "y",
        "min_inviter_role": "HR_LOCAL",
        "expiry_days": "30",
        "max_validity_days": "60",
        "daily_limit_per_member": "50",
        "bind_invitee_email": "y",
        "name": "Riverside",
        "description": "",
        "brand_color": "#3b5bdb",
        "logo_url": "",
        "csrf_token": csrf_token(admin_client, SETTINGS),
    }
    response = admin_client.post(SETTINGS, data=form, environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert response.status_code == 302
    row = session.exec(select(AuditEvent)).one()
    assert (row.action, row.ip, row.channel) == ("settings.invitations.updated", CLIENT_IP, "web")
    page = admin_client.get(URL).get_data(as_text=True)
    assert listed(page) == [row.public_id]
    for text in (
        "Invitation settings changed",
        "Ada Admin &lt;ada@example.org&gt;",
        "<strong>Who can send invitations</strong>:",
        "Member → Local HR",
        "<strong>Invitation expiry (days)</strong>:",
        "14 → 30",
        CLIENT_IP,
    ):
        assert text in page, text


def test_the_page_has_labelled_filters_a_table_with_headers_and_a_tab(admin_client, session, admin):
    add_events(session, admin, 1)
    page = admin_client.get(URL).get_data(as_text=True)
    for text in (
        "<h1>Settings → Audit log</h1>",
        '<label for="action">Action</label>',
        '<label for="actor">Done by (e-mail)</label>',
        '<label for="since">From</label>',
        '<label for="until">To</label>',
        'type="date"',
        '<button type="submit" class="button">Filter</button>',
        '<th scope="col">When</th>',
        '<th scope="col">Who</th>',
        '<th scope="col">What</th>',
        '<th scope="col">Changes</th>',
        '<th scope="col">From</th>',
    ):
        assert text in page, text
    assert '<a href="/admin/settings/audit" aria-current="page">Audit log</a>' in page
    # …and beside the other settings tabs on their pages too.
    assert '<a href="/admin/settings/audit">Audit log</a>' in admin_client.get(SETTINGS).get_data(
        as_text=True
    )


def test_secrets_are_named_as_changed_never_shown(admin_client, session, admin):
    audit.record(
        session,
        admin,
        "webhook.secret_rolled",
        audit.Target("webhook", "we-1", "https://crm.example.org/hook"),
        secrets=("secret",),
        now=utcnow(),
    )
    session.commit()
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Webhook signing secret rolled" in page
    assert "<strong>Signing secret</strong>:\n              changed (not shown)" in page


def test_an_empty_log_says_so(admin_client):
    page = admin_client.get(URL).get_data(as_text=True)
    assert "No changes recorded yet." in page
    assert "<table" not in page.split("audit-heading")[1]


def test_only_the_organisations_own_rows_are_listed(admin_client, session, admin):
    other_org = make_org(session, "Elsewhere")
    stranger = make_member(session, other_org, Role.ADMIN_TENANT)
    mine = add_events(session, admin, 2)
    add_events(session, stranger, 3)
    page = admin_client.get(URL).get_data(as_text=True)
    assert listed(page) == [e.public_id for e in reversed(mine)]


# --- filters -----------------------------------------------------------------------------------


def test_filters_by_action_actor_and_dates(admin_client, session, org, admin):
    other = make_member(session, org, Role.ADMIN_TENANT, email="otto@example.org")
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    by_ada = add_events(session, admin, 3, start=start, step=timedelta(days=1))  # 1, 2, 3 March
    by_otto = add_events(session, other, 2, action="token.created", start=start)
    ids = lambda rows: [r.public_id for r in reversed(rows)]  # noqa: E731

    page = admin_client.get(f"{URL}?action=token.created").get_data(as_text=True)
    assert listed(page) == ids(by_otto)
    assert '<option selected value="token.created">API token created</option>' in page

    page = admin_client.get(f"{URL}?actor=ADA@example.org").get_data(as_text=True)
    assert listed(page) == ids(by_ada)

    page = admin_client.get(f"{URL}?actor=ada@example.org&since=2026-03-02&until=2026-03-02")
    assert listed(page.get_data(as_text=True)) == ids(by_ada[1:2])  # the whole UTC day, inclusive

    page = admin_client.get(f"{URL}?since=2026-03-03").get_data(as_text=True)
    assert listed(page) == ids(by_ada[2:])
    assert "Show everything" in page

    page = admin_client.get(f"{URL}?action=member.role_changed").get_data(as_text=True)
    assert listed(page) == [] and "No changes match these filters." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01", "Enter a date such as 2026-03-14."),
        ("until=yesterday", "Enter a date such as 2026-03-14."),
        ("since=2026-03-05&until=2026-03-01", "Choose an end date on or after the start date."),
        ("actor=nobody@example.org", "No member of your organisation has this address."),
        ("actor=not-an-address", "not-an-address is not a valid e-mail address"),
        ("action=settings.everything", "Choose an action from the list."),
        ("actor=" + "a" * 321, "At most 320 characters."),
        ("cursor=bm90LWEtY3Vyc29y", "This cursor isn&#39;t one the portal gave out."),
    ],
)
def test_bad_filters_are_explained_with_422_and_list_nothing(
    admin_client, session, admin, query, message
):
    add_events(session, admin, 2)
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert listed(page) == []
    assert "No changes" not in page  # the error is the answer, not an empty log


def test_an_actor_of_another_organisation_is_not_found(admin_client, session, admin):
    stranger = make_member(session, make_org(session), Role.ADMIN_TENANT, email="s@example.org")
    add_events(session, stranger, 1)
    response = admin_client.get(f"{URL}?actor=s@example.org")
    assert response.status_code == 422
    assert "No member of your organisation has this address." in response.get_data(as_text=True)


# --- paging ------------------------------------------------------------------------------------


def test_older_pages_are_plain_links_that_keep_the_filters(admin_client, session, admin):
    rows = add_events(session, admin, 120)
    add_events(session, admin, 3, action="token.revoked")
    seen: list[str] = []
    url = f"{URL}?action=template.created"
    pages = 0
    while url:
        page = admin_client.get(url.replace("&amp;", "&")).get_data(as_text=True)
        pages += 1
        seen += listed(page)
        match = OLDER.search(page)
        url = match.group(1) if match else None
        if url:
            assert "action=template.created" in url
            assert "hx-" not in match.group(0)  # works without JavaScript
    assert pages == 3
    assert seen == [r.public_id for r in reversed(rows)]  # newest first, each once
    assert "Newest" in page


# --- who may see it ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_only_organisation_admins_may_read_it(client, session, org, role):
    unit = make_unit(session, org)
    member = make_member(session, org, role, unit=unit)
    add_events(session, member, 1)
    login(client, member.email)
    response = client.get(URL)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Only organisation admins can read the audit log." in page
    assert listed(page) == []


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_an_hr_revoke_of_someone_elses_invitation_is_listed(client, session, org, admin):
    unit = make_unit(session, org)
    member = make_member(session, org, Role.USER, unit=unit, full_name="Max Member")
    hr = make_member(session, org, Role.HR_LOCAL, unit=unit, email="hana@example.org")
    sent = invites.send_invitation(session, member, email="guest@example.org", now=utcnow())
    session.commit()
    login(client, hr.email)
    token = csrf_token(client, "/invites")
    response = client.post(
        f"/invites/{sent.invitation.public_id}/revoke",
        data={"csrf_token": token, "confirmed": "yes"},
        environ_base={"REMOTE_ADDR": CLIENT_IP},
    )
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, admin.email)
    page = client.get(URL).get_data(as_text=True)
    assert "Invitation revoked (not by its inviter)" in page
    assert "guest@example.org, invited by Max Member" in page
    assert "PENDING → REVOKED" in page and CLIENT_IP in page


# --- query budget ------------------------------------------------------------------------------


def test_a_page_costs_the_same_queries_for_3_or_50_rows(admin_client, session, engine, admin):
    add_events(session, admin, 3)
    admin_client.get(URL)  # warm-up
    with count_queries(engine) as small:
        assert len(listed(admin_client.get(URL).get_data(as_text=True))) == 3
    add_events(session, admin, 80)
    with count_queries(engine) as large:
        assert len(listed(admin_client.get(URL).get_data(as_text=True))) == 50
    assert len(small) == len(large), large
    # The member, the page's header (organisation, settings), then one for all the rows.
    assert len(large) <= 4, large
