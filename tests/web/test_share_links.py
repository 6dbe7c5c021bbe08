"""Share links through the test client: the dashboard panel, /r/<code>, joining, each dead
end's page, the owner's actions, the link's page, Settings → Share links and the API."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import AuditEvent, Invitation, Member, ShareLink
from portal.referrals import service as referrals
from portal.roles import MemberStatus, Role
from tests.conftest import csrf_token, sign_in
from tests.factories import make_member, make_org, make_unit, settings
from tests.query_count import count_queries
from tests.web.api_support import Api, make_token, problem


@pytest.fixture
def org(session):
    return make_org(session, "Harbour Club", brand_color="#aa3300")


@pytest.fixture
def owner(session, org):
    return make_member(
        session,
        org,
        Role.USER,
        unit=make_unit(session, org),
        email="olga@example.org",
        full_name="Olga Owner",
    )


@pytest.fixture
def owner_client(client, owner):
    return sign_in(client, owner)


@pytest.fixture
def link(session, owner) -> ShareLink:
    made = referrals.ensure_default_link(session, owner, utcnow())
    session.commit()
    return made


def path_of(link: ShareLink) -> str:
    return f"/r/{referrals.code_of(link)}"


def join_through(client, link: ShareLink, email: str = "newbie@example.org"):
    opened = client.get(path_of(link))
    assert opened.status_code == 302 and opened.headers["Location"] == "/r"
    data = {
        "csrf_token": csrf_token(client, "/r"),
        "full_name": "Nina Newbie",
        "email": email,
        "password": "long enough password",
    }
    return client.post("/r", data=data)


# --- the dashboard panel --------------------------------------------------------------------


def test_the_invite_dashboard_shows_the_personal_link_with_copy_qr_and_share(
    owner_client, session, owner
):
    page = owner_client.get("/invites").get_data(as_text=True)
    link = session.exec(select(ShareLink).where(ShareLink.owner_id == owner.id)).one()
    url = f"http://portal.test/r/{referrals.code_of(link)}"
    assert f'value="{url}"' in page
    assert ">Copy link</button>" in page and 'data-copy="personal-link"' in page
    assert 'role="status"' in page  # where "Copied" is announced
    assert "<svg" in page and 'role="img"' in page  # the QR code, inline
    assert 'href="mailto:?subject=Join%20me%20at%20Harbour%20Club' in page
    assert re.search(r"<button[^>]*hidden[^>]*data-share-url[^>]*>Share…</button>", page)
    assert link.code_digest not in page  # the digest is never shown


def test_members_who_may_not_invite_see_no_panel(client, session, org, owner):
    settings(session, org, min_inviter_role=Role.HR_LOCAL.value)
    hr = make_member(session, org, Role.HR_TENANT)
    settings(session, org, share_links_enabled=False)
    page = sign_in(client, hr).get("/invites").get_data(as_text=True)
    assert "Your personal link" not in page
    assert session.exec(select(ShareLink)).all() == []


def test_the_panel_lists_each_link_with_its_counts(owner_client, session, owner, link):
    referrals.create_link(session, owner, label="Newsletter", now=utcnow())
    session.commit()
    join_through(owner_client.application.test_client(), link)
    page = owner_client.get("/invites").get_data(as_text=True)
    row = re.search(rf'<tr id="link-{link.public_id}">(.*?)</tr>', page, re.S).group(1)
    assert "Personal link" in row
    assert '<td data-label="Opens">1</td>' in row and '<td data-label="Joins">1</td>' in row
    assert "Newsletter" in page


def test_the_dashboard_costs_the_same_queries_for_1_or_15_links(
    owner_client, session, engine, owner, link
):
    owner_client.get("/invites")  # warm-up
    with count_queries(engine) as few:
        assert owner_client.get("/invites").status_code == 200
    for n in range(14):
        referrals.create_link(session, owner, label=f"Link {n}", now=utcnow())
    session.commit()
    with count_queries(engine) as many:
        assert owner_client.get("/invites").status_code == 200
    assert len(few) == len(many), (few, many)


# --- opening and joining --------------------------------------------------------------------


def test_opening_moves_the_code_into_the_session_and_shows_the_branded_join_page(
    client, session, link
):
    opened = client.get(path_of(link))
    assert opened.status_code == 302 and opened.headers["Location"] == "/r"
    page = client.get("/r")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Olga Owner invited you</h1>" in text
    assert "--brand: #aa3300" in text
    assert referrals.code_of(link) not in text
    session.refresh(link)
    assert link.opens == 1


def test_joining_through_a_link_records_source_link_and_the_referrer(client, session, owner, link):
    response = join_through(client, link)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    member = session.exec(select(Member).where(Member.email == "newbie@example.org")).one()
    invitation = session.get(Invitation, member.invitation_id)
    assert member.invited_by_id == owner.id
    assert (invitation.status, invitation.source, invitation.share_link_id) == (
        "ACCEPTED",
        "link",
        link.id,
    )
    # The referrer sees them among their accepted invitations.
    referrer = sign_in(client.application.test_client(), owner)
    accepted = referrer.get("/invites?list=accepted").get_data(as_text=True)
    assert "newbie@example.org" in accepted and "via share link" in accepted


def test_a_join_with_a_taken_address_shows_the_form_again(client, session, owner, link):
    response = join_through(client, link, email=owner.email)
    assert response.status_code == 409
    assert "already has an account" in html.unescape(response.get_data(as_text=True))
    session.refresh(link)
    assert link.joins == 0


def test_a_signed_in_member_opening_a_link_is_told_they_are_a_member(owner_client, link):
    page = owner_client.get(path_of(link))
    assert page.status_code == 200
    assert "You are already a member of Harbour Club" in page.get_data(as_text=True)


# --- dead ends ------------------------------------------------------------------------------


def _replace(session, org, owner, link):
    referrals.regenerate(session, owner, link, utcnow())


def _switch_off(session, org, owner, link):
    referrals.switch(session, owner, link, enabled=False, now=utcnow())


def _org_off(session, org, owner, link):
    settings(session, org, share_links_enabled=False)


def _full(session, org, owner, link):
    link.joins = 2
    session.add(link)
    settings(session, org, share_link_max_joins=2)


def _expired(session, org, owner, link):
    link.code_issued_at = utcnow() - timedelta(days=31)
    session.add(link)
    settings(session, org, share_link_lifetime_days=30)


def _deactivated(session, org, owner, link):
    owner.status = MemberStatus.DISABLED.value
    session.add(owner)


def _no_longer_allowed(session, org, owner, link):
    settings(session, org, min_inviter_role=Role.HR_LOCAL.value)


@pytest.mark.parametrize(
    ("breaks", "title", "sentence"),
    [
        (
            _replace,
            "This link was replaced",
            "This link was replaced by a newer one — ask Olga Owner for the new link.",
        ),
        (_switch_off, "This link is switched off", "Olga Owner switched this link off."),
        (_org_off, "This link is switched off", "Harbour Club has switched personal links off"),
        (_full, "This link has been used up", "already been used by 2 people"),
        (_expired, "This link has expired", "This link expired on"),
        (_deactivated, "This link no longer works", "who can no longer invite people"),
        (_no_longer_allowed, "This link no longer works", "who can no longer invite people"),
    ],
    ids=["replaced", "switched-off", "org-off", "cap", "expired", "deactivated", "not-allowed"],
)
def test_each_dead_end_has_its_own_410_page(
    client, session, org, owner, link, breaks, title, sentence
):
    path = path_of(link)
    breaks(session, org, owner, link)
    session.commit()
    page = client.get(path)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 410, text
    assert f"<h1>{title}</h1>" in text
    assert sentence in text


def test_a_link_that_never_existed_is_404(client):
    page = client.get("/r/not-a-code")
    assert page.status_code == 404
    assert "<h1>Link not found</h1>" in page.get_data(as_text=True)


def test_a_link_broken_between_opening_and_joining_shows_its_dead_end(client, session, owner, link):
    assert client.get(path_of(link)).status_code == 302
    token = csrf_token(client, "/r")
    referrals.switch(session, owner, link, enabled=False, now=utcnow())
    session.commit()
    response = client.post(
        "/r",
        data={
            "csrf_token": token,
            "full_name": "Late Comer",
            "email": "late@example.org",
            "password": "long enough password",
        },
    )
    assert response.status_code == 410
    assert session.exec(select(Member).where(Member.email == "late@example.org")).first() is None


# --- the owner's actions --------------------------------------------------------------------


def test_creating_regenerating_and_switching_a_link(owner_client, session, owner, link):
    token = csrf_token(owner_client, "/invites")
    made = owner_client.post("/invites/links", data={"csrf_token": token, "label": "Spring fair"})
    assert made.status_code == 302
    fair = session.exec(select(ShareLink).where(ShareLink.label == "Spring fair")).one()
    old = fair.code_digest
    assert (
        owner_client.post(
            f"/invites/links/{fair.public_id}/regenerate", data={"csrf_token": token}
        ).status_code
        == 302
    )
    session.refresh(fair)
    assert fair.code_digest != old
    assert (
        owner_client.post(
            f"/invites/links/{fair.public_id}/switch", data={"csrf_token": token}
        ).status_code
        == 302
    )
    session.refresh(fair)
    assert not fair.enabled
    owner_client.post(
        f"/invites/links/{fair.public_id}/switch", data={"csrf_token": token, "enabled": "on"}
    )
    session.refresh(fair)
    assert fair.enabled


def test_a_label_refused_is_shown_beside_its_field(owner_client, link):
    token = csrf_token(owner_client, "/invites")
    response = owner_client.post("/invites/links", data={"csrf_token": token, "label": ""})
    assert response.status_code == 422
    assert 'id="label-error"' in response.get_data(as_text=True)


def test_a_member_cannot_make_campaign_links(owner_client, session, link):
    token = csrf_token(owner_client, "/invites")
    response = owner_client.post(
        "/invites/links", data={"csrf_token": token, "label": "Poster", "campaign": "y"}
    )
    assert response.status_code == 403
    assert session.exec(select(ShareLink).where(ShareLink.label == "Poster")).first() is None


def test_someone_elses_link_is_404(client, session, org, link):
    other = sign_in(client, make_member(session, org, Role.USER))
    token = csrf_token(other, "/invites")
    assert other.get(f"/invites/links/{link.public_id}").status_code == 404
    response = other.post(f"/invites/links/{link.public_id}/regenerate", data={"csrf_token": token})
    assert response.status_code == 404


def test_the_link_page_lists_who_joined_a_page_at_a_time_at_a_constant_cost(
    owner_client, session, engine, owner, link
):
    def joins(n: int, start: int) -> None:
        for i in range(start, start + n):
            referrals.join(
                session,
                invites.digest(referrals.code_of(link)),
                email=f"joiner{i}@example.org",
                full_name=f"Joiner {i}",
                password=None,
                now=utcnow(),
            )
        session.commit()

    joins(2, 0)
    page_path = f"/invites/links/{link.public_id}"
    owner_client.get(page_path)
    with count_queries(engine) as small:
        assert owner_client.get(page_path).status_code == 200
    joins(28, 2)
    with count_queries(engine) as large:
        first = owner_client.get(page_path).get_data(as_text=True)
    assert len(small) == len(large), (small, large)
    assert first.count("@example.org</td>") == 25
    assert "joiner29@example.org" in first and "joiner4@example.org" not in first
    older = re.search(r'href="([^"]*after=\d+)"', first).group(1)
    rest = owner_client.get(html.unescape(older)).get_data(as_text=True)
    assert rest.count("@example.org</td>") == 5 and "joiner0@example.org" in rest


# --- Settings → Share links -----------------------------------------------------------------


def test_admins_save_share_link_settings_and_the_change_is_audited(admin_client, session, org):
    token = csrf_token(admin_client, "/admin/settings/share-links")
    response = admin_client.post(
        "/admin/settings/share-links",
        data={"csrf_token": token, "max_joins": "25", "lifetime_days": ""},
    )
    assert response.status_code == 302
    saved = referrals.settings_for(session, org.id)
    session.refresh(saved)
    assert (saved.share_links_enabled, saved.share_link_max_joins) == (False, 25)
    assert saved.share_link_lifetime_days is None
    event = session.exec(select(AuditEvent)).one()
    assert event.action == "settings.share_links.updated"


def test_share_link_settings_refuse_a_zero_cap_beside_the_field(admin_client, session, org):
    token = csrf_token(admin_client, "/admin/settings/share-links")
    response = admin_client.post(
        "/admin/settings/share-links",
        data={"csrf_token": token, "enabled": "y", "max_joins": "0"},
    )
    assert response.status_code == 422
    assert "Choose between 1 and 100,000 joins" in response.get_data(as_text=True)
    assert session.exec(select(AuditEvent)).first() is None


def test_share_link_settings_are_for_organisation_admins_only(owner_client):
    assert owner_client.get("/admin/settings/share-links").status_code == 403


# --- the API --------------------------------------------------------------------------------


def test_the_api_answers_a_members_default_link_and_counts(client, session, owner, link):
    api = Api(client, make_token(session, owner, scopes=["read-referral-links"]))
    response = api.get(f"/members/{owner.public_id}/referral-link")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["url"] == f"http://portal.test{path_of(link)}"
    assert body == {
        "id": link.public_id,
        "memberId": owner.public_id,
        "url": body["url"],
        "enabled": True,
        "opens": 0,
        "joins": 0,
        "createdAt": body["createdAt"],
        "expiresAt": None,
    }


def test_the_api_refuses_a_member_who_may_not_invite_and_other_organisations(
    client, session, org, owner
):
    api = Api(client, make_token(session, owner, scopes=["read-referral-links"]))
    stranger = make_member(session, make_org(session, "Other Club"), Role.USER)
    problem(api.get(f"/members/{stranger.public_id}/referral-link"), 404, "not_found")
    settings(session, org, share_links_enabled=False)
    off = problem(api.get(f"/members/{owner.public_id}/referral-link"), 403, "not_allowed")
    assert "Personal share links are switched off" in off["detail"]
    settings(session, org, share_links_enabled=True, min_inviter_role=Role.HR_LOCAL.value)
    problem(api.get(f"/members/{owner.public_id}/referral-link"), 403, "not_allowed")
    settings(session, org, min_inviter_role=Role.USER.value, enabled=False)
    problem(api.get(f"/members/{owner.public_id}/referral-link"), 403, "invitations_disabled")


def test_invites_in_the_api_carry_their_source(client, session, owner, link):
    join_through(client, link)
    api = Api(client.application.test_client(), make_token(session, owner))
    data = api.get("/invites").get_json()["data"]
    assert [(i["email"], i["source"], i["status"]) for i in data] == [
        ("newbie@example.org", "link", "LINKED")
    ]
