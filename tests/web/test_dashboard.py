"""The invitation dashboard through the test client: send, list, act, and its query budget."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import Invitation, OutboxItem
from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org, make_unit, settings
from tests.query_count import count_queries

HX = {"HX-Request": "true"}


# The inviter here is a plain inviter of the unit, not conftest's tenant admin.
@pytest.fixture
def inviter(session, org, unit):
    return make_member(
        session, org, Role.USER, unit=unit, email="ines@example.org", full_name="Ines Inviter"
    )


def post_invite(client, headers=None, **data):
    data.setdefault("email", "guest@example.org")
    return client.post(
        "/invites",
        data={**data, "csrf_token": csrf_token(client, "/invites")},
        headers=headers or {},
    )


def test_dashboard_has_the_send_form_and_the_lists(inviter_client):
    response = inviter_client.get("/invites")
    assert "HX-Request" in response.headers["Vary"]  # page and partial share one URL
    page = response.get_data(as_text=True)
    for text in (
        '<label for="email">Email</label>',
        '<label for="full_name">Full name</label>',
        '<label for="message">Personal message</label>',
        "Send invitation",
        "Pending <span",
        "Accepted <span",
        "Expired <span",
    ):
        assert text in page


def test_htmx_send_into_an_empty_list_returns_a_cleared_form_and_the_list_out_of_band(
    inviter_client, session
):
    response = post_invite(inviter_client, HX, full_name="Gina", message="Hello!", list="pending")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Invitation sent to guest@example.org." in page
    assert 'name="email" placeholder="name@example.org" required rows="2">\r\n</textarea>' in page
    section = page.split('<section id="list-pending"')[1].split("</section>")[0]
    assert 'hx-swap-oob="true"' in section and "guest@example.org</td>" in section
    assert '<span class="count" id="count-accepted" hx-swap-oob="true">(0)</span>' in page
    assert session.exec(select(Invitation)).one().full_name == "Gina"


def test_htmx_send_answers_with_the_new_row_and_the_counts_not_the_lists(
    inviter_client, session, inviter
):
    for n in range(3):
        invites.send_invitation(session, inviter, email=f"old{n}@example.org", now=utcnow())
    session.commit()
    response = post_invite(inviter_client, HX, email="new@example.org", list="pending")
    page = response.get_data(as_text=True)
    new_rows = page.split('<tbody hx-swap-oob="afterbegin:#rows-pending">')[1].split("</tbody>")[0]
    assert new_rows.count("<tr ") == 1 and "new@example.org</td>" in new_rows
    assert "old0@example.org" not in page and 'id="invite-lists"' not in page
    assert '<span class="count" id="count-pending" hx-swap-oob="true">(4)</span>' in page


def test_htmx_send_while_another_list_is_open_updates_only_the_counts(inviter_client):
    response = post_invite(inviter_client, HX, list="accepted")
    page = response.get_data(as_text=True)
    assert "rows-pending" not in page and 'id="list-pending"' not in page
    assert '<span class="count" id="count-pending" hx-swap-oob="true">(1)</span>' in page


def test_only_the_open_list_has_rows_and_the_others_open_by_link(inviter_client, session, inviter):
    invites.send_invitation(session, inviter, email="pending@example.org", now=utcnow())
    revoked = invites.send_invitation(session, inviter, email="gone@example.org", now=utcnow())
    invites.revoke(session, inviter, revoked.invitation, utcnow())
    session.commit()
    page = inviter_client.get("/invites").get_data(as_text=True)
    assert "pending@example.org</td>" in page and "gone@example.org" not in page
    assert 'href="/invites?list=revoked#list-revoked"' in page
    assert "Revoked <span" in page
    page = inviter_client.get("/invites?list=revoked").get_data(as_text=True)
    assert "gone@example.org</td>" in page and "pending@example.org" not in page


def test_without_javascript_send_redirects_and_flashes(inviter_client):
    response = post_invite(inviter_client)
    assert response.status_code == 302
    page = inviter_client.get("/invites").get_data(as_text=True)
    assert "Invitation sent to guest@example.org." in page
    assert "guest@example.org</td>" in page


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"email": "nope"}, 422, "nope is not a valid e-mail address"),
        ({"email": "guest@example.org", "message": "x" * 1001}, 422, "at most 1,000 characters"),
        ({"email": "guest@example.org", "full_name": "n" * 201}, 422, "at most 200 characters"),
        ({"email": "ines@example.org"}, 422, "You can&#39;t invite yourself."),
    ],
)
def test_refusals_are_shown_next_to_the_field_and_nothing_is_written(
    inviter_client, session, data, status, message
):
    response = post_invite(inviter_client, HX, **data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="error"' in page
    assert session.exec(select(Invitation)).all() == []
    assert session.exec(select(OutboxItem)).all() == []


def test_your_own_pending_address_is_refused_with_an_offer_to_resend(
    inviter_client, session, inviter
):
    invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow() - timedelta(hours=1)
    )
    session.commit()
    response = post_invite(inviter_client, HX)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already has a pending invitation" in page
    assert "Resend the pending invitation" in page
    assert len(session.exec(select(Invitation)).all()) == 1


def test_the_resend_offer_answers_with_a_cleared_form(inviter_client, session, inviter):
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow() - timedelta(hours=1)
    ).invitation
    session.commit()
    response = inviter_client.post(
        f"/invites/{invitation.public_id}/resend",
        headers=HX,
        data={"csrf_token": csrf_token(inviter_client, "/invites"), "from": "send-form"},
    )
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<section id="send-invitation"')
    assert "Invitation resent to guest@example.org" in page
    assert "Resend the pending invitation" not in page
    assert 'hx-swap-oob="true"' in page


def test_someone_elses_pending_address_is_refused_without_details(
    client, session, org, unit, inviter
):
    invites.send_invitation(session, inviter, email="guest@example.org", now=utcnow())
    session.commit()
    other = make_member(session, org, Role.USER, unit=unit)
    login(client, other.email)
    response = post_invite(client, HX)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "guest@example.org has already been invited by another member." in page
    assert "Resend the pending invitation" not in page


def test_an_account_elsewhere_gets_the_same_answer_as_a_member_here(inviter_client, session, org):
    make_member(session, org, email="old.friend@example.org")
    make_member(session, make_org(session), email="stranger@example.org")
    answers = []
    for address in ("old.friend@example.org", "stranger@example.org"):
        response = post_invite(inviter_client, HX, email=address)
        page = response.get_data(as_text=True)
        assert f"{address} already has an account, so it can&#39;t be invited." in page
        # The CSRF token is signed with the second it was made in: not part of the answer.
        page = re.sub(
            r'(name="csrf_token"[^>]*value=)"[^"]*"', r"\1", page.replace(address, "<address>")
        )
        answers.append((response.status_code, page))
    assert answers[0] == answers[1]
    assert answers[0][0] == 409
    assert session.exec(select(Invitation)).all() == []


def test_refused_sends_on_the_form_count_towards_the_daily_limit(inviter_client, session, org):
    settings(session, org, daily_limit_per_member=2)
    make_member(session, make_org(session), email="stranger@example.org")
    for _ in range(2):
        assert post_invite(inviter_client, HX, email="stranger@example.org").status_code == 409
    response = post_invite(inviter_client, HX, email="new.friend@example.org")
    assert response.status_code == 429
    assert "tried 2 more that were refused" in response.get_data(as_text=True)
    assert session.exec(select(Invitation)).all() == []


def test_the_daily_limit_is_a_429_that_says_when_it_resets(inviter_client, session, org):
    settings(session, org, daily_limit_per_member=1)
    assert post_invite(inviter_client, HX, email="a@example.org").status_code == 200
    response = post_invite(inviter_client, HX, email="b@example.org")
    assert response.status_code == 429
    assert "It resets at" in response.get_data(as_text=True)


def test_a_double_submit_creates_one_invitation(inviter_client, session):
    first = post_invite(inviter_client, HX)
    second = post_invite(inviter_client, HX)
    assert first.status_code == second.status_code == 200
    assert len(session.exec(select(Invitation)).all()) == 1
    assert len(session.exec(select(OutboxItem)).all()) == 1


def test_a_changed_request_seconds_later_offers_resend_and_keeps_what_was_typed(
    inviter_client, session
):
    assert post_invite(inviter_client, HX, full_name="Gina", message="Hello!").status_code == 200
    response = post_invite(inviter_client, HX, full_name="Gina", message="Bring your boots")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already has a pending invitation" in page
    assert "Resend the pending invitation" in page
    assert "Bring your boots</textarea>" in page
    assert session.exec(select(Invitation)).one().message == "Hello!"


def test_without_permission_the_post_is_refused_and_nothing_written(inviter_client, session, org):
    settings(session, org, min_inviter_role=Role.ADMIN_TENANT.value)
    response = post_invite(inviter_client)
    assert response.status_code == 403
    assert session.exec(select(Invitation)).all() == []


def test_expired_invitations_show_under_expired_immediately_with_resend(
    inviter_client, session, inviter
):
    sent = invites.send_invitation(
        session, inviter, email="late@example.org", now=utcnow() - timedelta(days=15)
    )
    session.commit()
    page = inviter_client.get("/invites?list=expired", headers=HX).get_data(as_text=True)
    expired_section = page.split('id="list-expired"')[1].split("</section>")[0]
    assert "late@example.org" in expired_section
    assert "Resend: late@example.org" in expired_section
    assert sent.invitation.status == "PENDING"  # derived, not yet swept


@pytest.mark.parametrize("action", ["resend", "extend", "revoke"])
def test_row_actions_answer_htmx_with_the_lists_and_a_notice(
    inviter_client, session, inviter, action
):
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow()
    ).invitation
    session.commit()
    response = _act(inviter_client, invitation, action, HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="invite-lists"')
    assert {"resend": "Invitation resent", "extend": "now expires on", "revoke": "was revoked"}[
        action
    ] in page


def test_revoke_without_javascript_asks_first(inviter_client, session, inviter):
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow()
    ).invitation
    session.commit()
    page = inviter_client.get(f"/invites/{invitation.public_id}/revoke").get_data(as_text=True)
    assert "Revoke the invitation?" in page
    # The row's button posts without confirming: the same page asks, and revokes nothing.
    response = inviter_client.post(
        f"/invites/{invitation.public_id}/revoke",
        data={"csrf_token": csrf_token(inviter_client, "/invites"), "list": "pending"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Revoke the invitation?" in page and 'name="confirmed" value="yes"' in page
    session.refresh(invitation)
    assert invitation.status == "PENDING"
    assert _act(inviter_client, invitation, "revoke").status_code == 302
    session.refresh(invitation)
    assert invitation.status == "REVOKED"


def test_someone_elses_invitation_is_not_found(client, session, org, unit, inviter):
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow()
    ).invitation
    session.commit()
    login(client, make_member(session, org, Role.USER, unit=unit).email)
    response = client.post(
        f"/invites/{invitation.public_id}/revoke",
        data={"csrf_token": csrf_token(client, "/invites")},
    )
    assert response.status_code == 404
    session.refresh(invitation)
    assert invitation.status == "PENDING"


def test_hr_sees_their_units_invitations_with_invited_by_and_a_filter(
    app, client, session, org, unit, inviter
):
    invites.send_invitation(session, inviter, email="north@example.org", now=utcnow())
    south = make_unit(session, org, "South")
    southerner = make_member(session, org, Role.USER, unit=south, full_name="Sam South")
    invites.send_invitation(session, southerner, email="south@example.org", now=utcnow())
    session.commit()
    hr = make_member(session, org, Role.HR_LOCAL, unit=unit)
    login(client, hr.email)
    page = client.get("/invites").get_data(as_text=True)
    assert "north@example.org" in page and "south@example.org" not in page
    assert '<th scope="col">Invited by</th>' in page
    assert f'<option value="{inviter.public_id}"' in page
    admin = make_member(session, org, Role.ADMIN_TENANT, unit=unit)
    client = app.test_client()
    login(client, admin.email)
    everyone = client.get("/invites").get_data(as_text=True)
    assert "north@example.org" in everyone and "south@example.org" in everyone
    only_sam = client.get(f"/invites?inviter={southerner.public_id}").get_data(as_text=True)
    assert "south@example.org" in only_sam and "north@example.org" not in only_sam


def test_members_see_only_their_own_invitations(client, session, org, unit, inviter):
    invites.send_invitation(session, inviter, email="mine@example.org", now=utcnow())
    session.commit()
    login(client, make_member(session, org, Role.USER, unit=unit).email)
    assert "mine@example.org" not in client.get("/invites").get_data(as_text=True)


def test_load_more_pages_by_keyset_without_gaps_or_duplicates(
    inviter_client, session, org, inviter
):
    settings(session, org, daily_limit_per_member=1000)
    sent = []
    for n in range(60):
        sent.append(
            invites.send_invitation(
                session, inviter, email=f"g{n}@example.org", now=utcnow()
            ).invitation.email
        )
    session.commit()
    settings_page = inviter_client.get("/invites").get_data(as_text=True)
    seen = [e for e in sent if f">{e}</td>" in settings_page]
    assert len(seen) == 25
    after = settings_page.split("/invites/more/pending?after=")[1].split('"')[0].split("&")[0]
    while after:
        chunk = inviter_client.get(f"/invites/more/pending?after={after}", headers=HX)
        text = chunk.get_data(as_text=True)
        seen += [e for e in sent if f">{e}</td>" in text]
        after = (
            text.split("/invites/more/pending?after=")[1].split('"')[0].split("&")[0]
            if "/invites/more/pending?after=" in text
            else None
        )
    assert sorted(seen) == sorted(sent)


def test_the_dashboard_costs_the_same_queries_for_10_or_500_invitations(
    inviter_client, session, engine, org, inviter
):
    settings(session, org, daily_limit_per_member=1000)

    def fill(upto: int) -> None:
        existing = len(session.exec(select(Invitation)).all())
        for n in range(existing, upto):
            invites.send_invitation(session, inviter, email=f"q{n}@example.org", now=utcnow())
        session.commit()

    fill(10)
    inviter_client.get("/invites")  # warm-up: caches, login
    with count_queries(engine) as small:
        assert inviter_client.get("/invites").status_code == 200
    fill(500)
    with count_queries(engine) as large:
        assert inviter_client.get("/invites").status_code == 200
    assert len(small) == len(large), (small, large)
    # member, organisation, settings, one list, the counts, the share links
    assert len(large) <= 6, large


def _act(client, invitation, action, headers=None):
    """A row button, as the dashboard sends it (Revoke says it was confirmed)."""
    return client.post(
        f"/invites/{invitation.public_id}/{action}",
        headers=headers or {},
        data={"csrf_token": csrf_token(client, "/invites"), "confirmed": "yes"},
    )


def _row_of(page, invitation) -> str:
    return page.split(f'id="invite-{invitation.public_id}"')[1].split("</tr>")[0]


@pytest.mark.parametrize("headers", [HX, {}], ids=["htmx", "no-javascript"])
def test_extend_past_the_longest_validity_is_refused_where_the_button_was(
    inviter_client, session, org, inviter, headers
):
    settings(session, org, expiry_days=14, max_validity_days=20)
    now = utcnow()
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=now
    ).invitation
    session.commit()
    assert _act(inviter_client, invitation, "extend", HX).status_code == 200  # 14 → 20 days
    response = _act(inviter_client, invitation, "extend", headers)
    assert response.status_code == 409
    row = _row_of(response.get_data(as_text=True), invitation)
    until = (now + timedelta(days=20)).strftime("%d %B %Y")
    assert f"This invitation is valid until {until}" in row
    assert "use Resend" in row
    assert "Extend: guest@example.org" not in row  # the refusal stands where the button was
    assert "Resend: guest@example.org" in row
    session.refresh(invitation)
    assert invitation.expires_at == now + timedelta(days=20)


@pytest.mark.parametrize("role", [Role.HR_LOCAL, Role.ADMIN_TENANT])
def test_hr_and_admins_see_and_revoke_invitations_while_invitations_are_off(
    client, session, org, unit, inviter, role
):
    invitation = invites.send_invitation(
        session, inviter, email="guest@example.org", now=utcnow()
    ).invitation
    session.commit()
    settings(session, org, enabled=False)
    login(client, make_member(session, org, role, unit=unit).email)
    response = client.get("/invites")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Invitations are turned off for your organisation." in page
    assert "Send invitation</button>" not in page  # the form is replaced by the notice
    assert "guest@example.org</td>" in _row_of(page, invitation)
    # Resend and Extend send or extend: still refused, and said so in the row.
    for action in ("resend", "extend"):
        refused = _act(client, invitation, action, HX)
        assert refused.status_code == 403
        assert "turned off" in _row_of(refused.get_data(as_text=True), invitation)
    assert _act(client, invitation, "revoke", HX).status_code == 200
    session.refresh(invitation)
    assert invitation.status == "REVOKED"


def test_members_still_get_the_refusal_while_invitations_are_off(inviter_client, session, org):
    settings(session, org, enabled=False)
    response = inviter_client.get("/invites")
    assert response.status_code == 403
    assert "turned off" in response.get_data(as_text=True)


def test_a_list_past_the_count_cap_says_so_instead_of_counting_every_row(
    inviter_client, session, inviter, monkeypatch
):
    monkeypatch.setattr("portal.invites.queries.COUNT_CAP", 3)
    for n in range(5):
        invites.send_invitation(session, inviter, email=f"many{n}@example.org", now=utcnow())
    old = invites.send_invitation(
        session, inviter, email="late@example.org", now=utcnow() - timedelta(days=30)
    )
    session.commit()
    page = inviter_client.get("/invites").get_data(as_text=True)
    assert 'id="count-pending">(3+)</span>' in page
    assert 'id="count-expired">(1)</span>' in page  # past due, not yet swept: still counted
    assert old.invitation.status == "PENDING"


def test_a_send_costs_the_same_queries_however_many_invitations_there_are(
    admin_client, session, engine, org, admin
):
    settings(session, org, daily_limit_per_member=1000)

    def send(address: str) -> list[str]:
        token = csrf_token(admin_client, "/invites")
        data = {"email": address, "csrf_token": token, "list": "pending"}
        with count_queries(engine) as statements:
            assert admin_client.post("/invites", data=data, headers=HX).status_code == 200
        return statements

    send("first@example.org")
    few = send("second@example.org")
    for n in range(60):
        invites.send_invitation(session, admin, email=f"bulk{n}@example.org", now=utcnow())
    session.commit()
    many = send("third@example.org")
    assert len(few) == len(many) <= 12, many
